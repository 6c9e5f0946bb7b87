"""No case is invisible: every reason a case waits for a person puts it in some role's queue,
and a case with no place is seen by the district's dispatchers and operators, who place it on
the map (relocate, routing follows) or reject it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from civicgrid.cases import policy as case_policy
from civicgrid.cases import routing, workflow
from civicgrid.cases import service as case_service
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.cases.queries import QUEUES
from civicgrid.cases.routing import QUEUE_REASONS
from civicgrid.config import Settings, get_settings
from tests.factories import (
    COMMUNITY_A,
    POINT_A,
    POINT_B,
    SMALL_DISTRICT,
    STREET_A,
    department,
    login,
    small_geography,
    user,
    world,
)

OUTSIDE = (120.1, 30.2)  # Hangzhou: in no grid of the small district
ROLES = {
    "disp": "dispatcher",
    "oper": "operator",
    "lead": "leader",
    "boss": "admin",
    "ha": "handler",
    "sup": "supervisor",
}


def _report(client, point=POINT_A, category="06010"):
    data = {"category": category}
    if point:
        data.update(lon=point[0], lat=point[1])
    r = client.post("/api/v1/citizen/reports", data=data)
    assert r.status_code == 201, r.text
    return r.json()["code"]


def _queues_listing(client, codes) -> dict[str, list[tuple[str, str]]]:
    """For each case, the (user, queue) pairs of the console that list it."""
    found: dict[str, list[tuple[str, str]]] = {code: [] for code in codes}
    for username in ROLES:
        login(client, username)
        for key in QUEUES:
            page = client.get("/console", params={"queue": key})
            # the page falls back to the user's first queue for a queue that is not theirs
            if page.status_code != 200 or f'queue={key}" class="on"' not in page.text:
                continue
            for code in codes:
                if f"/console/cases/{code}" in page.text:
                    found[code].append((username, key))
    return found


def test_every_queue_reason_the_code_can_produce_is_in_some_roles_queue(
    client, session, monkeypatch
):
    # Given the small district: a rule for major class 06 to the street, a rule for 01 to a
    # department type the district does not have, and no rule at all for the rest
    small_geography(session)
    department(session, "239901901", "环卫部门")
    routing.add_rule(session, match="06", target="street")
    routing.add_rule(session, match="01", target="department")
    for username, role in ROLES.items():
        unit = {"ha": STREET_A, "sup": COMMUNITY_A}.get(username, SMALL_DISTRICT)
        user(session, username, [role], unit)
    session.flush()
    codes = {
        "no_location": _report(client, point=None),
        "outside_grid": _report(client, point=OUTSIDE),
        "no_rule": _report(client, category="02001"),
        "no_unit": _report(client, category="01001"),
    }
    login(client, "sup")
    r = client.post(
        "/api/v1/cases", json={"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]}
    )
    codes["manual"] = r.json()["code"]
    monkeypatch.setenv("CIVICGRID_CITIZEN_REPORTS_NEED_ACCEPTANCE", "true")
    get_settings.cache_clear()
    client.cookies.clear()
    codes["needs_acceptance"] = _report(client)
    monkeypatch.delenv("CIVICGRID_CITIZEN_REPORTS_NEED_ACCEPTANCE")
    get_settings.cache_clear()
    returned = _report(client)
    login(client, "ha")
    assert client.post(f"/api/v1/cases/{returned}/return", json={"note": "不归我"}).is_success
    codes["returned"] = returned
    complaint = _report(client)
    case = case_service.get_case(session, complaint)
    settings = Settings()
    handler = case_policy.Actor("ha", "handler", frozenset({STREET_A}))
    for action, actor in (
        ("take", handler),
        ("report_done", handler),
        ("verify_pass", case_policy.Actor("disp", "dispatcher")),
    ):
        # the evidence a live step brings (an after-photo's count, a verify's note)
        case_service.transition(
            session, settings, case, action, actor=actor, note="已核实", photos=1
        )
    case_service.transition(
        session, settings, case, "rate", actor=case_policy.Actor.citizen(), payload={"score": 1}
    )
    session.flush()
    codes["complaint"] = complaint
    # the reasons asked for are the reasons the cases got
    got = dict(session.execute(select(Case.code, Case.queue_reason)).all())
    assert {reason: got[code] for reason, code in codes.items()} == {r: r for r in codes}
    # and they are every reason the code names
    assert set(codes) == {*QUEUE_REASONS, "returned", "complaint"}
    # When each role opens each of its queues, Then every case is in some queue
    listing = _queues_listing(client, codes.values())
    for reason, code in codes.items():
        assert listing[code], f"{reason}: {code} is in nobody's queue"


def test_a_case_with_no_place_is_seen_by_the_districts_command_roles(client, session):
    world(session)
    codes = [_report(client, point=None), _report(client, point=OUTSIDE)]
    for username in ("disp", "oper", "lead", "boss"):
        login(client, username)
        for code in codes:
            assert client.get(f"/api/v1/cases/{code}").status_code == 200, (username, code)
        listed = {c["code"] for c in client.get("/api/v1/cases").json()["items"]}
        assert set(codes) <= listed
    # but not by a street's handler or a community's supervisor
    for username in ("ha", "sup"):
        login(client, username)
        for code in codes:
            assert client.get(f"/api/v1/cases/{code}").status_code == 404
    # and the 待定位 queue lists exactly them
    login(client, "disp")
    page = client.get("/console", params={"queue": "to_locate"}).text
    assert all(f"/console/cases/{code}" in page for code in codes)


class TestRelocate:
    def test_anonymous_gets_401(self, client, session):
        world(session)
        code = _report(client, point=None)
        r = client.post(f"/api/v1/cases/{code}/relocate", json={"lon": 1, "lat": 2})
        assert r.status_code == 401

    def test_a_handler_may_not_relocate(self, client, session):
        world(session)
        code = _report(client)
        login(client, "ha")
        r = client.post(
            f"/api/v1/cases/{code}/relocate", json={"lon": POINT_B[0], "lat": POINT_B[1]}
        )
        assert r.status_code in (403, 409)

    def test_placing_a_citizen_report_in_a_grid_routes_it_at_once(self, client, session):
        # Given a citizen report that came without a place
        world(session)
        code = _report(client, point=None)
        login(client, "oper")
        # When the operator places it on the map
        r = client.post(
            f"/api/v1/cases/{code}/relocate",
            json={"lon": POINT_B[0], "lat": POINT_B[1], "note": "电话确认位置"},
        )
        # Then it is in street B's grid and the system has accepted and dispatched it there
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["street"] == "239901002" and body["state"] == "dispatched"
        assert body["unit"] == "239901002" and body["queue_reason"] is None
        case = case_service.get_case(session, code)
        events = case_service.events_of(session, case)
        assert [e.action for e in events] == ["report", "relocate", "accept", "dispatch"]
        assert events[1].role == "operator" and events[1].payload["street"] == "239901002"
        assert events[1].payload["was"] == {"lon": None, "lat": None}
        assert {e.role for e in events[2:]} == {"system"}
        # and the row is still the projection of its events
        from civicgrid.cases import history

        assert [d for d in history.verify(session) if d[0] == code] == []

    def test_a_place_still_outside_every_grid_stays_on_the_queue(self, client, session):
        world(session)
        code = _report(client, point=None)
        login(client, "disp")
        r = client.post(f"/api/v1/cases/{code}/relocate", json={"lon": 120.0, "lat": 30.0})
        assert r.status_code == 200
        assert r.json()["queue_reason"] == "outside_grid" and r.json()["state"] == "reported"

    def test_a_staff_case_placed_waits_for_a_person(self, client, session):
        world(session)
        login(client, "oper")
        code = client.post("/api/v1/cases", json={"category": "06010"}).json()["code"]
        assert client.get(f"/api/v1/cases/{code}").json()["queue_reason"] == "no_location"
        r = client.post(
            f"/api/v1/cases/{code}/relocate", json={"lon": POINT_A[0], "lat": POINT_A[1]}
        )
        assert r.json()["state"] == "reported" and r.json()["queue_reason"] == "manual"

    @pytest.mark.parametrize("body", [{}, {"lon": 126.7}, {"lon": 500, "lat": 45}])
    def test_a_place_must_be_given(self, client, session, body):
        world(session)
        code = _report(client, point=None)
        login(client, "disp")
        r = client.post(f"/api/v1/cases/{code}/relocate", json=body)
        assert r.status_code == 400
        assert not any(
            e.action == "relocate"
            for e in session.scalars(select(CaseEvent).join(Case).where(Case.code == code))
        )

    def test_relocate_is_a_move_of_the_workflow(self):
        assert workflow.next_state("reported", "relocate", None) == "reported"
        assert workflow.next_state("registered", "relocate", None) == "registered"
        assert workflow.next_state("dispatched", "relocate", None) is None
