"""The citizen's own rating is final: an operator's phone follow-up is recorded only before it
(refused with 409 after); the citizen may still rate after a follow-up, and the latest rating is
the case's score (kpis.md)."""

from __future__ import annotations

import pytest

from civicgrid.cases import intake as case_intake
from civicgrid.cases import policy as case_policy
from civicgrid.cases import service as case_service
from civicgrid.cases.exceptions import AlreadyRatedByCitizen
from civicgrid.config import Settings
from tests.citizen.test_citizen import close
from tests.factories import POINT_A, login, world


def _closed_report(client, session):
    r = client.post(
        "/api/v1/citizen/reports",
        data={"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]},
    )
    body = r.json()
    close(session, body["code"])
    session.flush()
    return body["code"], body["secret"]


def _citizen_rates(client, code, secret, score):
    return client.post(f"/api/v1/citizen/cases/{code}/rate", json={"s": secret, "score": score})


def test_a_follow_up_after_the_citizens_rating_is_refused(client, session):
    world(session)
    code, secret = _closed_report(client, session)
    assert _citizen_rates(client, code, secret, 5).status_code == 200
    login(client, "oper")
    for score in (1, 3):  # twice, as the review tried
        r = client.post(f"/api/v1/cases/{code}/rate", json={"score": score, "note": "电话回访"})
        assert r.status_code == 409
    assert client.get(f"/api/v1/cases/{code}").json()["score"] == 5


def test_the_citizen_rates_after_a_follow_up_and_the_latest_counts(client, session):
    world(session)
    code, secret = _closed_report(client, session)
    login(client, "oper")
    assert client.post(f"/api/v1/cases/{code}/rate", json={"score": 2}).status_code == 200
    client.cookies.clear()
    track = client.get(f"/api/v1/citizen/cases/{code}", params={"s": secret}).json()
    assert track["can_rate"] is True
    assert _citizen_rates(client, code, secret, 4).status_code == 200
    assert _citizen_rates(client, code, secret, 5).status_code == 409  # once
    case = case_service.get_case(session, code)
    assert case.score == 4
    assert [e.role for e in case_service.events_of(session, case) if e.action == "rate"] == [
        "operator",
        "citizen",
    ]


def test_the_rule_holds_in_the_service_too(session):
    world(session)
    case = case_intake.report(
        session,
        Settings(),
        source="citizen",
        category="06010",
        actor=case_policy.Actor.citizen(),
        lon=POINT_A[0],
        lat=POINT_A[1],
    )
    close(session, case.code)
    case_service.transition(
        session, Settings(), case, "rate", actor=case_policy.Actor.citizen(), payload={"score": 3}
    )
    with pytest.raises(AlreadyRatedByCitizen):
        case_service.transition(
            session,
            Settings(),
            case,
            "rate",
            actor=case_policy.Actor("oper", "operator"),
            payload={"score": 1},
        )
