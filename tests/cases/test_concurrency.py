"""Two people act on the same case at once: exactly one wins, the other gets a 409.
Real commits on separate connections, on SQLite and on PostgreSQL."""

import threading

import pytest

from civicgrid.cases import intake, policy, service
from civicgrid.config import Settings
from civicgrid.kit.errors import Conflict
from tests.conftest import IS_PG
from tests.factories import POINT_A, STREET_A, world

SETTINGS = Settings()


def make_case(factory) -> str:
    with factory() as session:
        world(session)
        case = intake.report(
            session,
            SETTINGS,
            source="citizen",
            category="06010",
            actor=policy.Actor.citizen(),
            lon=POINT_A[0],
            lat=POINT_A[1],
        )
        session.commit()
        return case.code


def race(factory, code: str, action: str, actors, *, with_version: bool) -> list:
    with factory() as session:
        seen_version = service.get_case(session, code).version
    barrier = threading.Barrier(len(actors), timeout=10)
    results: list = [None] * len(actors)

    def worker(i: int, actor) -> None:
        session = factory()
        try:
            if not with_version and IS_PG:
                # Both read the case before either writes: the database must catch it.
                case = service.get_case(session, code)
                barrier.wait()
            else:
                barrier.wait()
                case = service.get_case(session, code)
            service.transition(
                session,
                SETTINGS,
                case,
                action,
                actor=actor,
                expected_version=seen_version if with_version else None,
                note="并发",
            )
            session.commit()
            results[i] = "ok"
        except Conflict as exc:
            session.rollback()
            results[i] = exc.status_code
        finally:
            session.close()

    threads = [threading.Thread(target=worker, args=(i, a)) for i, a in enumerate(actors)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.parametrize("with_version", [True, False], ids=["version-seen", "no-version"])
def test_two_handlers_take_at_once_exactly_one_wins(committed, with_version):
    code = make_case(committed)
    handler = policy.Actor("ha", "handler", frozenset({STREET_A}))
    other = policy.Actor("sta", "handler", frozenset({STREET_A}))
    results = race(committed, code, "take", [handler, other], with_version=with_version)
    assert sorted(results, key=str) == [409, "ok"], results
    with committed() as session:
        case = service.get_case(session, code)
        events = service.events_of(session, case)
        assert case.state == "in_progress"
        assert [e.action for e in events].count("take") == 1
        assert [e.seq for e in events] == list(range(1, len(events) + 1))


def test_two_dispatchers_comment_and_suspend_at_once(committed):
    code = make_case(committed)
    d1, d2 = policy.Actor("d1", "dispatcher"), policy.Actor("d2", "dispatcher")
    results = race(committed, code, "suspend", [d1, d2], with_version=True)
    assert sorted(results, key=str) == [409, "ok"], results
