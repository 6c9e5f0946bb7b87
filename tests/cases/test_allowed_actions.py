"""The actions offered on a case (policy.allowed_for: the case page and the detail API's
`allowed_actions`) are the ones the service takes: each offered action, tried, succeeds, and
the wrong offers of before (approve an extension none asked for, urge a case no unit has,
suspend a case not yet registered, rate twice by phone) are gone from the offer and refused by
the service."""

import datetime as dt

import pytest
from sqlalchemy import select

from civicgrid.auth.models import User
from civicgrid.cases import policy, service
from civicgrid.cases.exceptions import AlreadyRatedByCitizen, BadAction
from tests.cases.test_queries import DONE, SETTINGS, act, new
from tests.factories import POINT_A, login, world

USERS = ("disp", "oper", "lead", "boss", "ha", "hb", "hs", "sup", "sta")
UNTIL = "2026-03-20T17:00:00+08:00"


def payload_for(action: str) -> dict:
    return {
        "extend_request": {"until": UNTIL},
        "rate": {"score": 4},
        "relocate": {"lon": POINT_A[0], "lat": POINT_A[1]},
    }.get(action, {})


@pytest.fixture()
def cases(session) -> dict:
    """One case in each state a person meets, and the states' variants that change the offer."""
    world(session)
    hotline = {"source": "hotline"}
    return {
        "reported": new(session, **hotline),
        "registered": _acted(session, ("accept", "operator", {}), source="hotline"),
        "dispatched": new(session),
        "in_progress": _acted(session, ("take", "handler", {})),
        "extension_pending": _acted(
            session, ("take", "handler", {}), ("extend_request", "handler", {"until": UNTIL})
        ),
        "resolved": _acted(session, *DONE[:2]),
        "closed": _acted(session, *DONE),
        "rated_by_phone": _acted(session, *DONE, ("rate", "operator", {"score": 3})),
        "rated_by_citizen": _acted(session, *DONE, ("rate", "citizen", {"score": 5})),
        "rejected": _acted(session, ("reject", "dispatcher", {}), source="hotline"),
        "suspended": _acted(session, ("suspend", "dispatcher", {})),
    }


def _acted(session, *steps, source="citizen"):
    case = new(session, source=source)
    act(session, case, *steps)
    return case


def users(session) -> dict:
    return {u.username: u for u in session.scalars(select(User).where(User.username.in_(USERS)))}


def test_every_offered_action_succeeds_when_tried(session, cases):
    people = users(session)
    tried = set()
    for name, case in cases.items():
        code = case.code
        for username, user in people.items():
            case = service.get_case(session, code)
            for action in policy.allowed_for(session, case, user):
                savepoint = session.begin_nested()
                try:
                    case = service.get_case(session, code)
                    service.transition(
                        session,
                        SETTINGS,
                        case,
                        action,
                        actor=policy.actor_for(session, user, action),
                        at=case.last_event_at + dt.timedelta(minutes=1),
                        note="试一试",
                        payload=payload_for(action),
                        photos=1,  # what the form brings, as the note
                    )
                except Exception as exc:  # noqa: BLE001 - the offer was wrong
                    pytest.fail(f"{username} was offered {action} on {name} ({code}): {exc!r}")
                finally:
                    savepoint.rollback()
                tried.add(action)
    # the walk reached the whole workflow a person takes part in
    assert tried >= {
        "accept",
        "reject",
        "dispatch",
        "take",
        "return",
        "extend_request",
        "extend_approve",
        "extend_refuse",
        "report_done",
        "verify_fail",
        "verify_pass",
        "suspend",
        "resume",
        "rate",
        "urge",
        "comment",
        "relocate",
    }


def test_the_wrong_offers_are_gone(session, cases):
    people = users(session)

    def offered(username, name):
        return set(policy.allowed_for(session, cases[name], people[username]))

    assert {"extend_approve", "extend_refuse"} & offered("disp", "in_progress") == set()
    assert {"extend_approve", "extend_refuse"} <= offered("disp", "extension_pending")
    for name in ("reported", "registered", "rejected", "closed", "suspended"):
        assert "urge" not in offered("disp", name), name
        assert "urge" not in offered("lead", name), name
    for name in ("dispatched", "in_progress", "resolved"):
        assert "urge" in offered("disp", name) and "urge" in offered("lead", name), name
    assert "suspend" not in offered("disp", "reported")
    assert "suspend" in offered("disp", "registered")
    assert "rate" in offered("oper", "closed")
    assert "rate" in offered("oper", "rated_by_phone")  # a follow-up may be corrected
    assert "rate" not in offered("oper", "rated_by_citizen")


def _try(session, case, action, role, payload=None):
    service.transition(
        session,
        SETTINGS,
        case,
        action,
        actor=policy.Actor(role, role),
        at=case.last_event_at + dt.timedelta(minutes=1),
        note="催办",
        payload=payload or {},
        photos=1,
    )


@pytest.mark.parametrize("name", ["reported", "registered", "rejected", "closed", "suspended"])
def test_urge_needs_a_unit_and_an_open_case(session, cases, name):
    case = cases[name]
    seq = case.last_seq
    with pytest.raises(BadAction) as info:
        _try(session, case, "urge", "dispatcher")
    assert info.value.status_code == 400 and "督办" in info.value.zh
    assert case.last_seq == seq  # nothing written


def test_urge_names_the_unit_it_presses(session, cases):
    case = cases["in_progress"]
    event = service.transition(
        session,
        SETTINGS,
        case,
        "urge",
        actor=policy.Actor("disp", "dispatcher"),
        at=case.last_event_at + dt.timedelta(minutes=1),
        note="尽快处理",
    )
    assert event.payload["to"] == case.unit_code is not None


def test_the_service_refuses_the_wrong_offers_too(session, cases):
    with pytest.raises(BadAction):
        _try(session, cases["in_progress"], "extend_approve", "dispatcher")
    with pytest.raises(BadAction):
        _try(session, cases["in_progress"], "extend_refuse", "dispatcher")
    with pytest.raises(BadAction):
        _try(session, cases["reported"], "suspend", "dispatcher")
    # a phone follow-up may be corrected (the last rating counts, kpis.md), not the citizen's own
    _try(session, cases["rated_by_phone"], "rate", "operator", {"score": 5})
    with pytest.raises(AlreadyRatedByCitizen) as info:
        _try(session, cases["rated_by_citizen"], "rate", "operator", {"score": 5})
    assert info.value.status_code == 409


def test_the_detail_api_offers_what_the_page_offers(client, session, cases):
    login(client, "disp")
    code = cases["in_progress"].code
    offered = client.get(f"/api/v1/cases/{code}").json()["allowed_actions"]
    assert "urge" in offered and "extend_approve" not in offered
    page = client.get(f"/console/cases/{code}").text
    assert 'data-action="urge"' in page
    assert 'data-action="extend_approve"' not in page
    r = client.get(f"/api/v1/cases/{cases['registered'].code}").json()
    assert "urge" not in r["allowed_actions"] and "suspend" in r["allowed_actions"]
