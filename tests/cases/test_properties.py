"""Property: after any sequence of actions, legal or not, every case row equals the projection
of its events (what `civicgrid verify-cases` checks), and refused actions change nothing."""

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicgrid.cases import history, intake, policy, rows, service, workflow
from civicgrid.config import Settings
from civicgrid.kit.errors import AppError
from tests.factories import POINT_A, STREET_A, world

SETTINGS = Settings()
ACTIONS = [a for a in workflow.ACTIONS if a != "report"]
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def actor_for(action: str) -> policy.Actor:
    role = workflow.ROLES[action][0]
    if role == "citizen":
        return policy.Actor.citizen()
    return policy.Actor(role, role, frozenset({STREET_A, "239901001001", "239901"}))


def payload_for(action: str, at: dt.datetime, draw) -> dict:
    if action == "dispatch":
        return {"unit": draw(st.sampled_from([STREET_A, None]))}
    if action == "extend_request":
        return {"until": (at + dt.timedelta(days=draw(st.integers(1, 5)))).isoformat()}
    if action == "rate":
        return {"score": draw(st.integers(0, 6))}
    return {}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_rows_always_equal_the_projection_of_their_events(session, data):
    savepoint = session.begin_nested()
    try:
        world(session)
        case = intake.report(
            session,
            SETTINGS,
            source="hotline",
            category="06010",
            actor=policy.Actor("oper", "operator"),
            lon=POINT_A[0],
            lat=POINT_A[1],
            at=T0,
        )
        at = T0
        for _ in range(data.draw(st.integers(1, 25))):
            action = data.draw(st.sampled_from(ACTIONS))
            at = at + dt.timedelta(minutes=data.draw(st.integers(0, 600)))
            before = rows.projection_of(case).as_dict()
            try:
                service.transition(
                    session,
                    SETTINGS,
                    case,
                    action,
                    actor=actor_for(action),
                    at=at,
                    note="n",
                    payload=payload_for(action, at, data.draw),
                )
            except AppError:
                assert rows.projection_of(case).as_dict() == before  # refused: unchanged
        session.flush()
        assert list(history.verify(session)) == []
    finally:
        savepoint.rollback()
