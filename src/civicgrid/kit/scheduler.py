"""The one scheduler: every periodic job, run on one node at a time.

A domain registers its jobs (a name, an interval, a function of a session and the settings) when
its module is imported. Every server process runs a `Scheduler` thread; before a job runs, the
process takes the job's lease in `job_runs` with one conditional UPDATE (free or expired lease,
and due), so that of several processes or machines exactly one runs it, on SQLite and on
PostgreSQL alike. A lease that outlived its holder (a killed process) expires and is taken over.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, Text, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from civicgrid.config import Settings, get_settings
from civicgrid.kit.db import Base, UTCDateTime, session_scope, utcnow

log = logging.getLogger(__name__)


class JobRun(Base):
    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_ok: Mapped[bool | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    next_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    runs: Mapped[int] = mapped_column(default=0)
    # the lease: the node running it, until when
    locked_by: Mapped[str | None] = mapped_column(String(120))
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


JobFunction = Callable[[Session, Settings], Any]


@dataclass(frozen=True)
class Job:
    """A periodic job. `run(session, settings)` runs in its own transaction (read-only when
    `read_only`, so that on SQLite it does not hold the write lock); what it returns is logged.
    `lease` must be longer than the longest run: past it, another node may start the job too."""

    name: str
    every: dt.timedelta
    run: JobFunction
    lease: dt.timedelta = dt.timedelta(minutes=10)
    read_only: bool = False
    description: str = ""


_jobs: dict[str, Job] = {}


def register(job: Job) -> Job:
    """Add a job to the schedule; registering the same name twice is a bug (two modules would
    run under one lease), unless it is the same job again (a module imported twice)."""
    known = _jobs.get(job.name)
    if known is not None and known.run is not job.run:
        raise ValueError(f"a job named {job.name!r} is registered already")
    if len(job.name) > 60:
        raise ValueError(f"job name {job.name!r} is longer than 60 characters")
    _jobs[job.name] = job
    return job


def jobs() -> list[Job]:
    """The registered jobs, by name."""
    return [_jobs[name] for name in sorted(_jobs)]


def get_job(name: str) -> Job | None:
    return _jobs.get(name)


def node_id() -> str:
    """This process, as a lease holder: host, process id and a random part (a reused pid on
    another start is another node)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def job_states(session: Session) -> dict[str, JobRun]:
    """The recorded state of every job that has a row, by name."""
    return {r.job: r for r in session.scalars(select(JobRun))}


@dataclass
class Outcome:
    """What one attempt came to: `ran` False when another node held the lease (or the job was
    not due); else `ok`, and `error` or `result`."""

    job: str
    ran: bool
    ok: bool = False
    error: str | None = None
    result: Any = None


def _ensure_row(job: Job) -> None:
    with session_scope() as session:
        if session.get(JobRun, job.name) is not None:
            return
        try:
            with session.begin_nested():
                session.add(JobRun(job=job.name, runs=0))
        except IntegrityError:
            pass  # another node made it at the same moment


def claim(job: Job, node: str, *, now: dt.datetime, force: bool = False) -> bool:
    """Take the job's lease for `node` until now + lease, if it is free (or expired) and the
    job is due (or `force`). One UPDATE whose WHERE checks both: of several nodes racing,
    one row is changed once (PostgreSQL re-checks the WHERE on the row the winner committed;
    SQLite writers queue), so exactly one gets rowcount 1."""
    _ensure_row(job)
    free = or_(JobRun.locked_until.is_(None), JobRun.locked_until < now)
    due = or_(JobRun.next_run_at.is_(None), JobRun.next_run_at <= now)
    condition = and_(JobRun.job == job.name, free if force else and_(free, due))
    with session_scope() as session:
        result = session.execute(
            update(JobRun)
            .where(condition)
            .values(locked_by=node, locked_until=now + job.lease, last_started_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def _finish(job: Job, node: str, *, started: dt.datetime, error: str | None) -> None:
    finished = utcnow()
    with session_scope() as session:
        session.execute(
            update(JobRun)
            .where(JobRun.job == job.name, JobRun.locked_by == node)
            .values(
                last_finished_at=finished,
                last_ok=error is None,
                last_error=error,
                runs=JobRun.runs + 1,
                # a failed run is tried again at the next interval, not in a tight loop
                next_run_at=started + job.every,
                locked_by=None,
                locked_until=None,
            )
            .execution_options(synchronize_session=False)
        )


def run_job(
    job: Job,
    *,
    node: str,
    settings: Settings | None = None,
    now: dt.datetime | None = None,
    force: bool = False,
) -> Outcome:
    """Run the job here if this node gets its lease (see claim), record how it went and give
    the lease back. A job's exception is recorded (last_ok false, last_error), not raised."""
    started = now or utcnow()
    if not claim(job, node, now=started, force=force):
        return Outcome(job.name, ran=False)
    settings = settings or get_settings()
    error = None
    result = None
    try:
        with session_scope(read_only=job.read_only) as session:
            result = job.run(session, settings)
    except Exception as exc:  # noqa: BLE001 - a job's failure is recorded, the others go on
        log.exception("job %s failed", job.name)
        error = f"{type(exc).__name__}: {exc}"[:4000]
    else:
        log.info("job %s done: %s", job.name, result)
    _finish(job, node, started=started, error=error)
    return Outcome(job.name, ran=True, ok=error is None, error=error, result=result)


def run_due(
    *, node: str, settings: Settings | None = None, now: dt.datetime | None = None
) -> list[Outcome]:
    """One round: every registered job that is due and whose lease this node gets, run here."""
    outcomes = []
    for job in jobs():
        try:
            outcomes.append(run_job(job, node=node, settings=settings, now=now))
        except Exception:  # noqa: BLE001 - the database away: the next round tries again
            log.exception("job %s could not be scheduled", job.name)
    return [o for o in outcomes if o.ran]


class Scheduler:
    """A daemon thread that runs `run_due` every `tick` seconds until stopped. It never runs
    on the event loop: a job may block (files, the database) as long as its lease allows."""

    def __init__(self, *, tick: float = 30.0, settings: Settings | None = None):
        self.tick = tick
        self.settings = settings
        self.node = node_id()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="civicgrid-jobs", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        delay = min(self.tick, 5.0)  # a first round soon after start, once the server is up
        while not self._stop.wait(delay):
            run_due(node=self.node, settings=self.settings)
            delay = self.tick

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the job running now (if any); waits at most `timeout` seconds."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
