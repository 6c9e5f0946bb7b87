"""Staff enter cases only with the sources of their roles and only where they work; automatic
dispatch is the dispatchers' to ask for."""

from __future__ import annotations

import pytest

from tests.factories import POINT_A, POINT_B, login, world


def _enter(client, **fields):
    body = {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1], **fields}
    return client.post("/api/v1/cases", json=body)


def test_anonymous_gets_401(client, session):
    world(session)
    assert _enter(client).status_code == 401


@pytest.mark.parametrize("source", ["citizen", "open311", "system", "spotcheck"])
@pytest.mark.parametrize("username", ["disp", "oper", "sup", "ha", "boss"])
def test_no_staff_member_enters_a_citizen_or_system_case(client, session, username, source):
    world(session)
    login(client, username)
    r = _enter(client, source=source)
    assert r.status_code in (400, 403), r.text
    assert client.get("/api/v1/cases").json()["items"] == []


@pytest.mark.parametrize(
    "username, source, ok",
    [
        ("sup", "supervisor", True),
        ("sup", "hotline", False),
        ("oper", "hotline", True),
        ("oper", "supervisor", False),
        ("ha", "staff", True),
        ("ha", "hotline", False),
    ],
)
def test_sources_follow_the_roles(client, session, username, source, ok):
    world(session)
    login(client, username)
    r = _enter(client, source=source)
    assert (r.status_code == 201) is ok, r.text


def test_only_a_dispatcher_asks_for_automatic_dispatch(client, session):
    world(session)
    login(client, "sup")
    assert _enter(client, auto_dispatch=True).status_code == 403
    r = _enter(client)
    assert r.status_code == 201 and r.json()["state"] == "reported"
    login(client, "disp")
    r = _enter(client, auto_dispatch=True)
    assert r.status_code == 201 and r.json()["state"] == "dispatched"


def test_a_street_handler_enters_cases_only_in_their_street(client, session):
    # Given the handler of street A
    world(session)
    login(client, "ha")
    # When they enter a case in street B, Then it is refused and nothing is written
    r = _enter(client, lon=POINT_B[0], lat=POINT_B[1])
    assert r.status_code == 403 and "管辖" in r.json()["detail"]
    # while their own street is fine, and the district's dispatcher may enter either
    assert _enter(client).status_code == 201
    login(client, "disp")
    assert _enter(client, lon=POINT_B[0], lat=POINT_B[1]).status_code == 201
