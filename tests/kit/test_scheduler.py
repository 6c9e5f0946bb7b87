"""The scheduler: one run of a job at a time whatever the number of processes, failures recorded
and retried at the next interval, leases of dead nodes taken over, a thread that stops."""

import datetime as dt
import threading
import time

from sqlalchemy import select, update
from typer.testing import CliRunner

from civicgrid.cli import app as cli
from civicgrid.kit import scheduler
from civicgrid.kit.db import session_scope, utcnow
from civicgrid.kit.scheduler import Job, JobRun

runner = CliRunner()
HOUR = dt.timedelta(hours=1)


def state(factory, name: str) -> JobRun:
    with factory() as s:
        return s.scalars(select(JobRun).where(JobRun.job == name)).one()


def test_two_schedulers_racing_for_one_job_run_it_once(committed):
    # Given a job that takes a while, and two nodes that find it due at the same moment
    runs = []

    def slow(session, settings):
        runs.append(threading.current_thread().name)
        time.sleep(0.5)
        return "done"

    job = Job("test-race", every=HOUR, run=slow)
    barrier = threading.Barrier(2)
    outcomes = {}

    def node(name: str) -> None:
        barrier.wait()
        outcomes[name] = scheduler.run_job(job, node=name)

    # When both try to run it
    threads = [threading.Thread(target=node, args=(f"node-{i}",), name=f"n{i}") for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    # Then it ran once, on one of them, and the lease is given back
    assert len(runs) == 1
    assert sorted(o.ran for o in outcomes.values()) == [False, True]
    row = state(committed, "test-race")
    assert row.runs == 1 and row.last_ok is True and row.last_error is None
    assert row.locked_by is None and row.locked_until is None
    assert row.next_run_at == row.last_started_at + HOUR
    # and the one that lost finds it not due before the interval has passed
    assert not scheduler.run_job(job, node="node-1").ran
    assert len(runs) == 1


def test_a_failing_job_records_its_error_and_is_retried_next_interval(committed):
    # Given a job that fails
    calls = []

    def broken(session, settings):
        calls.append(1)
        raise RuntimeError("储存不可用 / store away")

    job = Job("test-broken", every=HOUR, run=broken)
    now = utcnow()

    # When it runs
    outcome = scheduler.run_job(job, node="n", now=now)

    # Then its error is recorded, not raised, and it is due again in an interval
    assert outcome.ran and not outcome.ok and "store away" in outcome.error
    row = state(committed, "test-broken")
    assert row.last_ok is False and row.last_error == "RuntimeError: 储存不可用 / store away"
    assert row.runs == 1 and row.locked_by is None
    assert row.next_run_at == now + HOUR
    assert not scheduler.run_job(job, node="n", now=now + HOUR / 2).ran
    assert len(calls) == 1
    again = scheduler.run_job(job, node="n", now=now + HOUR)
    assert again.ran and len(calls) == 2
    assert state(committed, "test-broken").runs == 2


def test_a_stale_lease_is_taken_over_and_a_live_one_is_not(committed):
    calls = []
    job = Job("test-lease", every=HOUR, run=lambda s, st: calls.append(1))
    now = utcnow()
    with session_scope() as s:
        s.add(JobRun(job="test-lease", runs=3, locked_by="dead:1:x", locked_until=now + HOUR))

    # a live lease: not even a forced run (civicgrid jobs run) takes it
    assert not scheduler.run_job(job, node="n", now=now, force=True).ran
    assert calls == []

    # Given the holder died and its lease ran out
    with session_scope() as s:
        s.execute(
            update(JobRun)
            .where(JobRun.job == "test-lease")
            .values(locked_until=now - dt.timedelta(seconds=1))
        )
    # When another node looks
    outcome = scheduler.run_job(job, node="alive:2:y", now=now)
    # Then it runs the job
    assert outcome.ran and outcome.ok and calls == [1]
    row = state(committed, "test-lease")
    assert row.runs == 4 and row.locked_by is None


def test_the_lease_is_held_while_the_job_runs(committed):
    seen = {}

    def look(session, settings):
        row = session.get(JobRun, "test-held")
        seen["by"], seen["until"] = row.locked_by, row.locked_until

    now = utcnow()
    scheduler.run_job(Job("test-held", every=HOUR, run=look, lease=HOUR), node="me", now=now)
    assert seen == {"by": "me", "until": now + HOUR}


def test_the_scheduler_thread_runs_due_jobs_and_stops(committed, monkeypatch):
    ran = threading.Event()
    job = Job("test-thread", every=HOUR, run=lambda s, st: ran.set())
    monkeypatch.setattr(scheduler, "_jobs", {"test-thread": job})
    jobs = scheduler.Scheduler(tick=0.05)
    jobs.start()
    try:
        assert ran.wait(10)
    finally:
        jobs.stop()
    assert not any(t.name == "civicgrid-jobs" for t in threading.enumerate())
    assert state(committed, "test-thread").runs == 1


def test_register_refuses_two_jobs_of_one_name(monkeypatch):
    import pytest

    monkeypatch.setattr(scheduler, "_jobs", {})
    first = scheduler.register(Job("test-x", every=HOUR, run=lambda s, st: None))
    assert scheduler.register(first) is first  # the module imported again
    with pytest.raises(ValueError, match="test-x"):
        scheduler.register(Job("test-x", every=HOUR, run=lambda s, st: 1))


def test_serve_runs_the_scheduler_in_its_app_and_stops_it(committed, monkeypatch):
    from fastapi.testclient import TestClient

    from civicgrid.app import create_app

    monkeypatch.setenv("CIVICGRID_RUN_SCHEDULER", "true")
    monkeypatch.setenv("CIVICGRID_SCHEDULER_TICK_SECONDS", "0.05")
    ran = threading.Event()
    monkeypatch.setattr(
        scheduler, "_jobs", {"test-app": Job("test-app", every=HOUR, run=lambda s, st: ran.set())}
    )
    with TestClient(create_app()) as client:
        assert client.get("/healthz").status_code == 200
        assert ran.wait(10)
    assert not any(t.name == "civicgrid-jobs" for t in threading.enumerate())


def test_jobs_cli_lists_and_runs(session):
    result = runner.invoke(cli, ["jobs", "list"])
    assert result.exit_code == 0, result.output
    assert "media-sweep" in result.output

    result = runner.invoke(cli, ["jobs", "run", "media-sweep"])
    assert result.exit_code == 0, result.output
    assert "removed 0 photo files" in result.output
    row = session.get(JobRun, "media-sweep")
    assert row.runs == 1 and row.last_ok is True

    result = runner.invoke(cli, ["jobs", "run", "no-such-job"])
    assert result.exit_code == 1
    assert "no job named no-such-job" in result.output
