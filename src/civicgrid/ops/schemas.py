from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from civicgrid.kit.timefmt import iso_local


class AuditRead(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    table: str
    row_key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @classmethod
    def of(cls, e) -> AuditRead:
        return cls(
            id=e.id,
            at=iso_local(e.at),
            actor=e.actor,
            action=e.action,
            table=e.table_name,
            row_key=e.row_key,
            before=e.before,
            after=e.after,
        )


class AuditPage(BaseModel):
    items: list[AuditRead]
    total: int
    page: int
    per_page: int


class JobRead(BaseModel):
    name: str
    description: str
    every_seconds: float
    last_started_at: str | None
    last_finished_at: str | None
    last_ok: bool | None
    last_error: str | None
    runs: int
    next_run_at: str | None
    running_on: str | None

    @classmethod
    def of(cls, job, run) -> JobRead:
        return cls(
            name=job.name,
            description=job.description,
            every_seconds=job.every.total_seconds(),
            last_started_at=iso_local(run.last_started_at) if run else None,
            last_finished_at=iso_local(run.last_finished_at) if run else None,
            last_ok=run.last_ok if run else None,
            last_error=run.last_error if run else None,
            runs=run.runs if run else 0,
            next_run_at=iso_local(run.next_run_at) if run else None,
            running_on=run.locked_by if run else None,
        )
