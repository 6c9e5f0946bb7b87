"""The console's queues are named queries (cases.queries.QUEUES): each is checked against a
hand-written SQL query over a mix of cases in several states, streets and queues, so that a
queue whose filter is dropped (the 延期申请 queue once showed every case) cannot pass."""

import datetime as dt
import json

import pytest
from sqlalchemy import bindparam, select, text

from civicgrid.auth import service as auth_service
from civicgrid.auth.models import User
from civicgrid.cases import intake, policy, queries, service, workflow
from civicgrid.cases.exceptions import BadAction
from civicgrid.cases.models import Case
from civicgrid.config import Settings
from civicgrid.kit.db import UTCDateTime
from tests.factories import POINT_A, POINT_B, world

SETTINGS = Settings()
CST = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 3, 2, 13, 30, tzinfo=CST)  # a Monday afternoon
NINE = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST)
TICKING = "state IN ('registered', 'dispatched', 'in_progress')"
# What each queue holds, written out again by hand.
EXPECTED = {
    "to_accept": "state = 'reported'",
    "to_locate": "state IN ('reported', 'registered') "
    "AND queue_reason IN ('no_location', 'outside_grid')",
    "to_dispatch": "state = 'registered'",
    "returned": "state = 'registered' AND queue_reason = 'returned'",
    "extensions": "extension_pending = :yes",
    "yellow": f"{TICKING} AND deadline >= :now AND warn_at < :now",
    "red": f"{TICKING} AND deadline < :now",
    # cases whose latest rating is ≤ 2: from the events (latest_poor_rating), not a column
    "complaints": "id IN :poor",
    "unit": "state IN ('dispatched', 'in_progress')",
    "verify": "state = 'resolved'",
    "all": "1 = 1",
}
SEEN = (
    " AND (unit_code IN :codes OR street_code IN :codes OR community_code IN :codes"
    " OR (:unplaced AND unit_code IS NULL AND street_code IS NULL))"
)


def new(session, at=NINE, point=POINT_A, source="citizen"):
    actor = policy.Actor.citizen() if source == "citizen" else policy.Actor("oper", "operator")
    return intake.report(
        session,
        SETTINGS,
        source=source,
        category="06010",
        actor=actor,
        lon=point[0] if point else None,
        lat=point[1] if point else None,
        at=at,
    )


def act(session, case, *steps):
    at = case.last_event_at
    for action, role, payload in steps:
        at = at + dt.timedelta(minutes=1)
        service.transition(
            session,
            SETTINGS,
            case,
            action,
            actor=policy.Actor(role, role),
            at=at,
            note="n",
            payload=payload,
            photos=1,
        )


DONE = [("take", "handler", {}), ("report_done", "handler", {}), ("verify_pass", "dispatcher", {})]


@pytest.fixture()
def mix(session):
    """Cases of two streets in every queue: yellow, red, extension pending, returned, waiting
    for acceptance, without a place, outside every grid, resolved, rated poorly, closed."""
    world(session)
    new(session)  # dispatched to street A at 09:00, deadline 14:00, yellow from 13:12
    new(session, at=NINE - dt.timedelta(days=3))  # the Friday before: red
    act(session, new(session, point=POINT_B), ("take", "handler", {}))
    act(
        session,
        new(session),
        ("take", "handler", {}),
        ("extend_request", "handler", {"until": "2026-03-05T17:00:00+08:00"}),
    )
    act(session, new(session, point=POINT_B), ("return", "handler", {}))
    new(session, source="hotline")  # reported, waiting for acceptance
    new(session, point=None, source="hotline")  # no place
    act(session, new(session, point=(127.5, 46.5), source="hotline"), ("accept", "operator", {}))
    act(
        session,
        new(session, point=POINT_B),
        ("take", "handler", {}),
        ("report_done", "handler", {}),
    )
    act(session, new(session), *DONE, ("rate", "operator", {"score": 1}))
    # rated poorly, then well: off the complaints; rated well, then poorly: on them
    act(
        session,
        new(session),
        *DONE,
        ("rate", "operator", {"score": 2}),
        ("rate", "citizen", {"score": 5}),
    )
    act(
        session,
        new(session, point=POINT_B),
        *DONE,
        ("rate", "operator", {"score": 4}),
        ("rate", "citizen", {"score": 1}),
    )
    act(session, new(session, point=POINT_B), *DONE)
    session.flush()
    return session


def latest_poor_rating(session) -> list[int]:
    """The ids of the cases whose last `rate` event gave a score of 2 or less."""
    last: dict[int, int] = {}
    rows = session.execute(
        text("SELECT case_id, payload FROM case_events WHERE action = 'rate' ORDER BY seq")
    )
    for case_id, payload in rows:
        payload = json.loads(payload) if isinstance(payload, str) else payload
        last[case_id] = payload["score"]
    return sorted(case_id for case_id, score in last.items() if score <= 2) or [-1]


def expected(session, key: str, scope) -> set[str]:
    sql = f"SELECT code FROM cases WHERE ({EXPECTED[key]})"
    params = {"now": NOW, "yes": True} if ":now" in sql else {"yes": True}
    binds = [bindparam("now", type_=UTCDateTime())] if ":now" in sql else []
    if ":poor" in sql:
        params["poor"] = latest_poor_rating(session)
        binds.append(bindparam("poor", expanding=True))
    if scope is not None:
        sql += SEEN
        params["codes"] = sorted(c for c in scope if c != auth_service.SEES_UNPLACED)
        params["unplaced"] = auth_service.SEES_UNPLACED in scope
        binds.append(bindparam("codes", expanding=True))
    query = text(sql).bindparams(*binds)
    return set(session.scalars(query, params))


def scope_of(session, username: str):
    return auth_service.scope_codes(
        session, session.scalar(select(User).where(User.username == username))
    )


@pytest.mark.parametrize("key", list(queries.QUEUES))
@pytest.mark.parametrize("viewer", [None, "disp", "ha", "hb"])
def test_each_queue_holds_what_its_definition_says(mix, key, viewer):
    # Given the mix of cases, and a viewer's scope (None: the whole platform)
    scope = scope_of(mix, viewer) if viewer else None
    # When the named queue is listed and counted
    got = {c.code for c in queries.list_queue(mix, key, scope=scope, limit=500, now=NOW)}
    count = queries.count_queue(mix, key, scope=scope, now=NOW)
    # Then it holds exactly what the hand-written query finds
    want = expected(mix, key, scope)
    assert got == want
    assert count == len(want)


@pytest.mark.parametrize("key", [k for k in queries.QUEUES if k != "all"])
def test_every_queue_is_a_proper_part_of_all_cases(mix, key):
    # a dropped filter gives every case: the mix has cases in and out of every queue
    every = expected(mix, "all", None)
    want = expected(mix, key, None)
    assert want and want != every
    assert {c.code for c in queries.list_queue(mix, key, scope=None, now=NOW)} == want


def test_the_extension_queue_holds_only_pending_requests(mix):
    [case] = queries.list_queue(mix, "extensions", scope=None, now=NOW)
    assert case.extension_pending and case.state == "in_progress"


def test_complaints_follow_the_latest_rating(mix):
    # Given cases rated once poorly, poorly then well, and well then poorly
    got = {c.id for c in queries.list_queue(mix, "complaints", scope=None, now=NOW)}
    # Then the queue holds the two whose last rating is poor, and only closed cases
    assert len(got) == 2
    assert got == set(latest_poor_rating(mix))
    assert {mix.get(Case, i).state for i in got} == {"closed"}


@pytest.mark.parametrize("key", list(queries.QUEUES))
@pytest.mark.parametrize("role", ["admin", "leader", "dispatcher", "operator", "supervisor"])
def test_a_queue_of_work_is_shown_only_to_roles_that_can_do_it(key, role):
    # the action that empties each queue of work; the rest (lights, all) are for watching
    work = {
        "to_accept": "accept",
        "to_locate": "relocate",
        "to_dispatch": "dispatch",
        "returned": "dispatch",
        "extensions": "extend_approve",
        "verify": "verify_pass",
        "unit": "take",
    }
    if key in work and key in queries.queues_for([role]):
        assert role in workflow.ROLES[work[key]]


def test_an_admin_sees_no_queue_it_cannot_act_on():
    assert queries.queues_for(["admin"]) == ["yellow", "red", "all"]


def test_each_role_sees_its_queues():
    assert queries.queues_for(["handler"]) == ["unit", "all"]
    assert "extensions" in queries.queues_for(["dispatcher"])
    assert "extensions" not in queries.queues_for(["operator", "leader"])


@pytest.mark.parametrize("viewer", ["disp", "ha", "hb", "sup"])
def test_visible_and_scoped_are_one_rule(mix, viewer):
    # Given a viewer's scope, When the cases are filtered by the query and one by one
    from civicgrid.cases.models import Case

    scope = scope_of(mix, viewer)
    by_query = set(mix.scalars(policy.scoped(select(Case.code), scope)))
    one_by_one = {c.code for c in mix.scalars(select(Case)) if policy.visible(c, scope)}
    # Then both find the same cases, and some
    assert by_query == one_by_one
    assert by_query


# --- sorted pages and search --------------------------------------------------------------------

NO_DEADLINE = "CASE WHEN deadline IS NULL THEN 1 ELSE 0 END, deadline"
LIGHT = (
    f"CASE WHEN NOT ({TICKING}) OR deadline IS NULL THEN 3 WHEN deadline < :now THEN 0"
    " WHEN warn_at IS NOT NULL AND warn_at < :now THEN 1 ELSE 2 END"
)
ORDERS = {
    "deadline": f"{NO_DEADLINE}, id",
    "reported": "reported_at DESC, id DESC",
    "light": f"{LIGHT}, {NO_DEADLINE}, id",
}


def in_order(session, sort: str, scope) -> list[str]:
    sql = "SELECT code FROM cases WHERE 1 = 1"
    params: dict = {"now": NOW}
    binds = [bindparam("now", type_=UTCDateTime())]
    if scope is not None:
        sql += SEEN
        params["codes"] = sorted(c for c in scope if c != auth_service.SEES_UNPLACED)
        params["unplaced"] = auth_service.SEES_UNPLACED in scope
        binds.append(bindparam("codes", expanding=True))
    sql += f" ORDER BY {ORDERS[sort]}"
    if ":now" not in sql:
        binds.pop(0)
        del params["now"]
    return list(session.scalars(text(sql).bindparams(*binds), params))


def walk(session, key, *, scope, sort, size=3, q="", phone=False) -> list[str]:
    """Every page of a list, following the cursor to the last page."""
    got, cursor = [], None
    for _ in range(100):
        page = queries.list_queue(
            session,
            key,
            scope=scope,
            q=q,
            phone=phone,
            limit=size,
            cursor=cursor,
            sort=sort,
            now=NOW,
        )
        got += [c.code for c in page]
        if len(page) < size:
            return got
        cursor = page[-1].id
    raise AssertionError("the pages never end")


@pytest.mark.parametrize("sort", queries.SORTS)
@pytest.mark.parametrize("viewer", [None, "disp", "ha"])
def test_walking_every_page_gives_the_independent_query_in_order(mix, sort, viewer):
    # Given the mix, a viewer and a sort; When the 全部 list is walked three cases a page
    scope = scope_of(mix, viewer) if viewer else None
    got = walk(mix, "all", scope=scope, sort=sort)
    # Then the pages together are the hand-written query's rows in its order, each once
    want = in_order(mix, sort, scope)
    assert len(want) > 3
    assert got == want
    assert queries.count_queue(mix, "all", scope=scope, now=NOW) == len(want)


def test_deadline_order_puts_cases_without_a_deadline_last(mix):
    cases = queries.list_queue(mix, "all", scope=None, sort="deadline", limit=500, now=NOW)
    deadlines = [c.deadline for c in cases]
    assert None in deadlines and deadlines[0] is not None
    assert deadlines.index(None) == len([d for d in deadlines if d is not None])


def test_an_unknown_sort_is_refused(mix):
    with pytest.raises(BadAction):
        queries.list_queue(mix, "all", scope=None, sort="colour", now=NOW)


def test_a_search_from_the_dispatch_tab_finds_a_closed_case(mix):
    # Given a closed case, which is not in 待派遣
    closed = mix.scalar(select(Case).where(Case.state == "closed"))
    assert closed.code not in expected(mix, "to_dispatch", None)
    # When its code is searched from the 待派遣 tab
    found = walk(mix, "to_dispatch", scope=None, sort="deadline", q=closed.code)
    # Then it is found, and the count equals the list
    assert found == [closed.code]
    assert queries.count_queue(mix, "to_dispatch", scope=None, q=closed.code) == 1


def test_a_search_stays_within_the_viewers_scope(mix):
    # street B's handler searches for every case by the code's common start
    scope = scope_of(mix, "hb")
    prefix = mix.scalar(select(Case.code)).rsplit("-", 1)[0][:6]
    got = set(walk(mix, "unit", scope=scope, sort="reported", q=prefix))
    want = expected(mix, "all", scope)
    assert got == want and want != expected(mix, "all", None)
    assert queries.count_queue(mix, "unit", scope=scope, q=prefix) == len(want)


def test_the_phone_is_searched_only_for_roles_that_may_see_contacts(mix):
    case = intake.report(
        mix,
        SETTINGS,
        source="hotline",
        category="06010",
        actor=policy.Actor("oper", "operator"),
        lon=POINT_A[0],
        lat=POINT_A[1],
        at=NINE,
        contact_phone="13912345678",
    )
    mix.flush()
    assert walk(mix, "all", scope=None, sort="deadline", q="12345", phone=True) == [case.code]
    assert walk(mix, "all", scope=None, sort="deadline", q="12345", phone=False) == []
    assert queries.count_queue(mix, "all", scope=None, q="12345", phone=True) == 1


# --- the reads other domains make (they never import cases' tables) -----------------------------


def by_hand(session, where: str, scope, order: str = "", **values) -> list[str]:
    """The codes of the cases meeting `where` (SQL written out again), for the scope."""
    sql = f"SELECT code FROM cases WHERE ({where})"
    binds = [
        bindparam(k, type_=UTCDateTime()) for k, v in values.items() if isinstance(v, dt.datetime)
    ]
    params = dict(values)
    if scope is not None:
        sql += SEEN
        params["codes"] = sorted(c for c in scope if c != auth_service.SEES_UNPLACED)
        params["unplaced"] = auth_service.SEES_UNPLACED in scope
        binds.append(bindparam("codes", expanding=True))
    return list(session.scalars(text(sql + order).bindparams(*binds), params))


@pytest.mark.parametrize("viewer", [None, "disp", "ha", "hb"])
def test_the_command_centres_day_counts_are_what_sql_finds(mix, viewer):
    # Given the mix and a viewer's scope, When the cases since a moment are counted
    scope = scope_of(mix, viewer) if viewer else None
    since = NINE - dt.timedelta(days=1)
    got = queries.count_since(mix, scope=scope, since=since)
    # Then each count is the hand-written query's
    want = {
        name: len(by_hand(mix, f"{name}_at >= :since", scope, since=since))
        for name in ("reported", "registered", "closed")
    }
    assert got == want
    if viewer is None:  # the Friday case is not counted, the closed ones are
        assert 0 < got["closed"] < got["reported"] < len(by_hand(mix, "1 = 1", None))


@pytest.mark.parametrize("viewer", [None, "disp", "ha", "hb"])
def test_the_open_cases_on_the_map_are_the_newest_open_ones(mix, viewer):
    scope = scope_of(mix, viewer) if viewer else None
    got = [c.code for c in queries.list_open(mix, scope=scope, limit=3)]
    states = ", ".join(f"'{s}'" for s in sorted(workflow.OPEN_STATES))
    want = by_hand(mix, f"state IN ({states})", scope, " ORDER BY id DESC LIMIT 3")
    assert got == want
    if viewer is None:  # more open cases than the limit, and closed ones besides
        assert len(want) == 3


@pytest.mark.parametrize("category", ["06010", "06011"])
def test_open_cases_near_are_the_open_ones_of_the_category_in_the_box(mix, category):
    # Given the mix (every case of category 06010), and a box around point A
    lon, lat = (POINT_A[0] - 0.001, POINT_A[0] + 0.001), (POINT_A[1] - 0.001, POINT_A[1] + 0.001)
    since = NINE - dt.timedelta(days=1)
    first = by_hand(mix, "1 = 1", None, " ORDER BY id LIMIT 1")[0]
    other = queries.case_by_code(mix, first)
    # When the open cases near are asked for, but the first case
    got = queries.open_cases_near(
        mix, category_code=category, since=since, lon=lon, lat=lat, other_than=other.id
    )
    # Then they are what the hand-written query finds, earliest first
    states = ", ".join(f"'{s}'" for s in sorted(workflow.OPEN_STATES))
    want = by_hand(
        mix,
        f"id != :other AND category_code = :category AND state IN ({states})"
        " AND reported_at >= :since AND lon BETWEEN :x0 AND :x1 AND lat BETWEEN :y0 AND :y1",
        None,
        " ORDER BY reported_at",
        other=other.id,
        category=category,
        since=since,
        x0=lon[0],
        x1=lon[1],
        y0=lat[0],
        y1=lat[1],
    )
    assert [c.code for c in got] == want
    assert bool(want) == (category == "06010")
    assert first not in want


def test_a_case_by_code_or_none(mix):
    [code] = by_hand(mix, "1 = 1", None, " ORDER BY id DESC LIMIT 1")
    assert queries.case_by_code(mix, code).code == code
    assert queries.case_by_code(mix, code + "x") is None


def test_reported_by_category_counts_from_the_moment(mix):
    since = NINE - dt.timedelta(days=1)
    want = len(by_hand(mix, "reported_at >= :since", None, since=since))
    assert queries.count_reported_by_category(mix, since=since) == {"06010": want}
    assert want < len(by_hand(mix, "1 = 1", None))


def test_latest_notes_are_of_the_actions_asked_for(mix):
    # Given cases whose events carry the note "n" (the mix), When the latest notes of two
    # actions are asked for
    ids = list(mix.scalars(text("SELECT id FROM cases")))
    got = queries.latest_notes(mix, ids, actions=["take", "return"])
    # Then only the cases with such an event have one
    want = set(
        mix.scalars(
            text("SELECT DISTINCT case_id FROM case_events WHERE action IN ('take', 'return')")
        )
    )
    assert set(got) == want and want
    assert set(got.values()) == {"n"}
    assert queries.latest_notes(mix, [], actions=["take"]) == {}


def test_milestones_and_reports_between_two_moments(mix):
    # Given the mix, When the statistics read the cases of a window that leaves the Friday out
    start, end = NINE - dt.timedelta(days=1), NINE + dt.timedelta(days=1)
    got = queries.milestones_between(mix, start=start, end=end)
    reported = queries.reported_between(mix, start=start, end=end)
    # Then they find what the hand-written queries find
    for name in ("reported", "registered", "closed"):
        where = f"{name}_at >= :start AND {name}_at < :end"
        assert len(got[name]) == len(by_hand(mix, where, None, start=start, end=end))
    assert len(reported) == len(got["reported"]) == len(by_hand(mix, "1 = 1", None)) - 1
    assert 0 < len(got["closed"]) < len(got["registered"])
