"""What other domains read of the catalogue (categories.queries), against independent reads."""

from sqlalchemy import select

from civicgrid.categories import queries, service
from civicgrid.categories.models import Category


def _kinds(session) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for code, kind in session.execute(select(Category.code, Category.kind)):
        out.setdefault(code, set()).add(kind)
    return out


def test_an_ambiguous_code_is_named_by_its_event(session):
    # Given 01002, a component (污水井盖) and an event (污水井盖异常), and an event-only code
    only_event = min(c for c, k in _kinds(session).items() if k == {"event"})
    # When they are named
    names = queries.names_by_code(session, ["01002", only_event, "99999"])
    # Then the event names the ambiguous code, the other keeps its own, an unknown one is absent
    assert names == {
        "01002": service.resolve_category(session, "01002").name,
        only_event: service.resolve_category(session, only_event).name,
    }
    assert names["01002"] != service.resolve_category(session, "01002", "component").name


def test_a_major_code_is_named_by_its_events_major_name(session):
    # the two kinds name major 01 differently (市政公用设施 / 市政公用设施类): the event's wins
    major_name = session.scalar(
        select(Category.major_name).where(Category.major_code == "01", Category.kind == "event")
    )
    assert queries.names_by_code(session, {"01"}, major=True) == {"01": major_name}


def test_kinds_by_code_has_every_code_and_an_ambiguous_one_is_an_event(session):
    kinds = _kinds(session)
    found = queries.kinds_by_code(session)
    assert set(found) == set(kinds)
    assert found["01002"] == "event"
    assert all(found[c] == ("event" if "event" in k else "component") for c, k in kinds.items())


def test_one_per_code_in_code_order_the_event_where_ambiguous(session):
    cats = queries.one_per_code(session)
    assert [c.code for c in cats] == sorted(_kinds(session))
    assert {c.code: c.kind for c in cats}["01002"] == "event"
