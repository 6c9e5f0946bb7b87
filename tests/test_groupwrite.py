"""Group commit (civicgrid.kit.groupwrite) and the batched report write it serves: many callers,
one transaction per batch, each caller answered with its own result only once it is committed;
one caller's refusal or failure costs the others nothing."""

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import func, insert, select

from civicgrid.cases import history, intake, policy, service
from civicgrid.cases.models import Case, CaseCounter, CaseEvent
from civicgrid.config import Settings
from civicgrid.kit.groupwrite import GroupWriter
from tests.factories import POINT_A, POINT_B, world

CST = dt.timezone(dt.timedelta(hours=8))


class Refused(Exception):
    pass


def _counters():
    """write_many for test items: a day → a counter row; "refuse…" is refused alone."""
    batches: list[int] = []
    first = threading.Event()

    def write_many(session, items):
        if not first.is_set():
            first.set()
            started.wait(5)  # hold the first batch until the others have queued behind it
        batches.append(len(items))
        out = []
        for day in items:
            if day.startswith("refuse"):
                out.append(Refused(day))
                continue
            session.execute(insert(CaseCounter).values(day=day, last=len(items)))
            out.append(day)
        return out

    started = threading.Event()
    return write_many, batches, started


def _run_all(writer, items, started):
    results: dict[str, object] = {}

    def call(item):
        try:
            results[item] = writer.write(item)
        except Exception as exc:  # noqa: BLE001 - kept to be checked
            results[item] = exc

    threads = [threading.Thread(target=call, args=(item,)) for item in items]
    threads[0].start()
    for t in threads[1:]:
        t.start()
    time.sleep(0.2)  # let them queue
    started.set()
    for t in threads:
        t.join(10)
    return results


def test_callers_waiting_together_are_written_in_one_batch_and_each_gets_its_answer(committed):
    write_many, batches, started = _counters()
    writer = GroupWriter("test-batches", write_many)
    days = [f"2099{n:04d}" for n in range(1, 21)] + ["refuse-me"]
    results = _run_all(writer, days, started)
    assert isinstance(results["refuse-me"], Refused)
    assert all(results[d] == d for d in days[:-1])
    assert sum(batches) == len(days) and max(batches) > 1  # they did wait together
    with committed() as s:
        stored = set(s.scalars(select(CaseCounter.day)))
    assert stored == set(days[:-1])


def test_a_failing_batch_is_rolled_back_and_each_item_written_alone(committed):
    with committed.begin() as s:
        s.execute(insert(CaseCounter).values(day="20990999", last=1))
    write_many, batches, started = _counters()
    writer = GroupWriter("test-retry", write_many)
    days = ["20990101", "20990102", "20990999", "20990103"]  # 20990999 exists: a key clash
    results = _run_all(writer, days, started)
    assert [d for d in days if results[d] == d] == ["20990101", "20990102", "20990103"]
    assert isinstance(results["20990999"], Exception)
    with committed() as s:
        assert s.scalar(select(func.count()).select_from(CaseCounter)) == 4
    assert 1 in batches  # the retries, one each


def test_reports_written_in_one_batch_get_consecutive_codes_and_rows_equal_to_their_events(
    session,
):
    world(session)
    settings = Settings()
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST)
    plans = [
        intake.plan_report(
            session,
            settings,
            source="open311",
            category=category,
            actor=policy.Actor.system(),
            lon=point[0] if point else None,
            lat=point[1] if point else None,
            contact_phone="13900000000" if point == POINT_B else "",
            at=at + dt.timedelta(minutes=i),
        )
        for i, (category, point) in enumerate(
            [("06010", POINT_A), ("06010", POINT_B), ("06010", None), ("03005", POINT_A)]
        )
    ]
    cases = intake.write_reports(session, settings, plans)
    session.flush()
    assert [c.code for c in cases] == [f"XF20260302-00000{n}" for n in range(1, 5)]
    assert [c.state for c in cases] == ["dispatched", "dispatched", "reported", "dispatched"]
    assert cases[2].queue_reason == "no_location"
    stored = session.scalars(select(Case).order_by(Case.id)).all()
    assert [c.code for c in stored] == [c.code for c in cases]
    events = session.execute(
        select(CaseEvent.case_id, func.count()).group_by(CaseEvent.case_id)
    ).all()
    assert sorted(n for _id, n in events) == [1, 3, 3, 3]
    # the case objects are in the session as written: a later transition updates them
    service.transition(
        session, settings, cases[0], "take", actor=policy.Actor("h", "handler", None)
    )
    assert session.scalar(select(Case.state).where(Case.id == cases[0].id)) == "in_progress"
    assert list(history.verify(session)) == []


def test_a_plan_whose_write_was_rolled_back_is_written_again(committed):
    """What GroupWriter does when a batch fails: the same plans, each in a new transaction."""
    settings = Settings()
    with committed.begin() as s:
        world(s)
    with committed() as s:
        plan = intake.plan_report(
            s,
            settings,
            source="open311",
            category="06010",
            actor=policy.Actor.system(),
            lon=POINT_A[0],
            lat=POINT_A[1],
        )
        first = intake.write_reports(s, settings, [plan])[0]
        first_code = first.code
        s.rollback()
    with committed.begin() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0
        again = intake.write_reports(s, settings, [plan])[0]
        assert again is not first and again.code == first_code
    with committed() as s:
        assert s.scalar(select(Case.state).where(Case.code == again.code)) == "dispatched"
        assert list(history.verify(s)) == []


@pytest.mark.parametrize("n", [1, 3])
def test_codes_taken_for_a_batch_continue_the_day(session, n):
    settings = Settings()
    at = dt.datetime(2026, 3, 2, 23, 59, tzinfo=CST)
    first = intake.next_codes(session, settings, [at] * n)
    then = intake.next_codes(session, settings, [at, at + dt.timedelta(minutes=2)])
    assert first == [f"XF20260302-{k:06d}" for k in range(1, n + 1)]
    assert then == [f"XF20260302-{n + 1:06d}", "XF20260303-000001"]
