import pytest
from sqlalchemy import func, select

from civicgrid.categories import service
from civicgrid.categories.exceptions import CsvInvalid
from civicgrid.categories.models import Category
from tests.factories import login, small_geography, user


def test_the_shipped_catalogue_has_153_components_and_250_events(session):
    counts = dict(
        session.execute(select(Category.kind, func.count()).group_by(Category.kind)).all()
    )
    assert counts == {"component": 153, "event": 250}


@pytest.mark.parametrize(
    ("kind", "code", "urgency", "expected"),
    [
        ("event", "06010", "normal", (4, "working_hours", "event:06010")),
        ("event", "06029", "normal", (2, "natural_hours", "event:06029")),
        ("event", "06001", "normal", (160, "working_hours", "event:06001")),
        ("event", "10001", "urgent", (4, "natural_hours", "event:10001")),
        ("component", "01037", "normal", (8, "working_hours", "component:01037")),
        # exact code under the other kind: component:01002 also times event 01002
        ("event", "01002", "normal", (2, "natural_hours", "component:01002")),
        ("event", "06002", "normal", (4, "working_hours", "major:06")),
        ("event", "09001", "normal", (2, "working_hours", "major:09")),
        ("component", "05002", "normal", (16, "working_hours", "default")),
        ("event", "06010", "urgent", (2, "natural_hours", "default")),
    ],
)
def test_limit_precedence_exact_then_major_then_default(session, kind, code, urgency, expected):
    cat = service.resolve_category(session, code, kind)
    limit = service.limit_for(session, cat, urgency)
    assert (limit.value, limit.unit, limit.scope) == expected


def test_an_ambiguous_code_resolves_to_the_event(session):
    assert service.resolve_category(session, "01002").kind == "event"
    assert service.resolve_category(session, "01002", "component").name == "污水井盖"


def test_limits_csv_import_is_all_or_nothing_with_line_numbers(session):
    text = (
        "scope,urgency,limit,unit,note\n"
        "major:06,normal,6,working_hours,ok\n"
        "major:6,normal,x,weeks,bad\n"
    )
    with pytest.raises(CsvInvalid) as info:
        service.import_limits(session, text)
    assert any(p.startswith("line 3:") for p in info.value.problems)
    cat = service.resolve_category(session, "06002")
    assert service.limit_for(session, cat, "normal").value == 4  # unchanged
    service.import_limits(
        session, text.splitlines(keepends=True)[0] + "major:06,normal,6,working_hours,ok\n"
    )
    assert service.limit_for(session, cat, "normal").value == 6


def test_categories_are_public_and_limits_are_changed_by_admins(client, session):
    r = client.get("/api/v1/categories", params={"q": "暴露垃圾"})
    assert r.status_code == 200 and r.json()[0]["code"] == "06010"
    assert len(client.get("/api/v1/categories/01002").json()) == 2
    assert client.get("/api/v1/categories/99999").status_code == 404
    small_geography(session)
    user(session, "boss", ["admin"], "239901")
    user(session, "h1", ["handler"], "239901001")
    body = {"scope": "event:06010", "urgency": "normal", "limit": 3, "unit": "working_hours"}
    assert client.put("/api/v1/time-limits", json=body).status_code == 401
    login(client, "h1")
    assert client.put("/api/v1/time-limits", json=body).status_code == 403
    login(client, "boss")
    assert client.put("/api/v1/time-limits", json=body).json()["limit"] == 3
    r = client.put("/api/v1/time-limits", json={**body, "unit": "fortnights"})
    assert r.status_code == 422 and "unit" in r.json()["detail"]
