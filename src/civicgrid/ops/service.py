"""Operations: reading the audit log and the periodic jobs' state (kit.audit, kit.scheduler)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.kit import scheduler
from civicgrid.kit.audit import AuditEntry
from civicgrid.kit.scheduler import Job, JobRun


@dataclass
class AuditPage:
    items: list[AuditEntry]
    total: int


def list_audit(
    session: Session,
    *,
    table: str | None = None,
    actor: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> AuditPage:
    """Audit entries, newest first, filtered by table, actor and time [since, until); `total`
    counts every entry the filters match."""
    query = select(AuditEntry)
    if table:
        query = query.where(AuditEntry.table_name == table)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return AuditPage(list(items), total)


def list_jobs(session: Session) -> list[tuple[Job, JobRun | None]]:
    """Every registered job with its recorded state (None before its first run)."""
    states = scheduler.job_states(session)
    return [(job, states.get(job.name)) for job in scheduler.jobs()]
