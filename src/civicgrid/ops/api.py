"""Operations for administrators: the audit log and the periodic jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from civicgrid.auth.deps import require_roles
from civicgrid.kit.http import DbSession
from civicgrid.kit.timefmt import parse_time
from civicgrid.ops import service
from civicgrid.ops.schemas import AuditPage, AuditRead, JobRead

router = APIRouter(
    prefix="/api/v1/admin", tags=["admin"], dependencies=[Depends(require_roles("admin"))]
)


@router.get("/audit", response_model=AuditPage)
def audit_log(
    session: DbSession,
    table: Annotated[str | None, Query(max_length=60, description="e.g. users")] = None,
    actor: Annotated[str | None, Query(max_length=80, description="e.g. user:admin")] = None,
    since: Annotated[
        str | None, Query(max_length=40, description="from this time or date (local)")
    ] = None,
    until: Annotated[
        str | None, Query(max_length=40, description="before this time or date (local)")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditPage:
    """Who changed what in the administrators' data, when, before and after; newest first."""
    found = service.list_audit(
        session,
        table=table,
        actor=actor,
        since=parse_time(since, "since") if since else None,
        until=parse_time(until, "until") if until else None,
        page=page,
        per_page=per_page,
    )
    return AuditPage(
        items=[AuditRead.of(e) for e in found.items],
        total=found.total,
        page=page,
        per_page=per_page,
    )


@router.get("/jobs", response_model=list[JobRead])
def jobs(session: DbSession) -> list[JobRead]:
    """The periodic jobs: interval, last run and its result, next run, the node running it."""
    return [JobRead.of(job, run) for job, run in service.list_jobs(session)]
