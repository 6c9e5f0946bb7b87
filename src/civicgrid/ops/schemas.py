from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from civicgrid.auth.schemas import PASSWORD_RULE
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


# --- people ----------------------------------------------------------------------------------

Text60 = Annotated[str, Field(max_length=60)]
Phone = Annotated[str, Field(max_length=40)]
AreaCode = Annotated[str, Field(max_length=32)]
Role = Annotated[str, Field(max_length=20)]


class AreaRef(BaseModel):
    code: str
    name: str


class AccountRead(BaseModel):
    """An account as administrators see it: the person's phones whole, the roles, the state,
    the last sign-in (local time; null if never), the areas the person is responsible for."""

    username: str
    name: str
    title: str
    roles: list[str]
    org_unit: str
    org_unit_name: str
    phones: list[str]
    disabled: bool
    last_sign_in: str | None
    areas: list[AreaRef]

    @classmethod
    def of(cls, account) -> AccountRead:
        user = account.user
        return cls(
            username=user.username,
            name=user.person.name,
            title=user.person.title,
            roles=list(user.roles),
            org_unit=user.org_unit.code,
            org_unit_name=user.org_unit.name,
            phones=[p for p in user.person.phones.split(",") if p],
            disabled=user.disabled,
            last_sign_in=iso_local(account.last_sign_in),
            areas=[AreaRef(code=c, name=n) for c, n in account.areas],
        )


class AccountPage(BaseModel):
    items: list[AccountRead]
    total: int
    page: int
    per_page: int


class AccountCreate(BaseModel):
    username: str = Field(min_length=2, max_length=60)
    password: str = Field(max_length=200, description=PASSWORD_RULE)
    name: str = Field(min_length=1, max_length=60)
    org_unit: str = Field(max_length=32)
    roles: list[Role] = Field(min_length=1, max_length=6)
    title: str = Field(default="", max_length=60)
    phones: list[Phone] = Field(default=[], max_length=5)
    areas: list[AreaCode] = Field(
        default=[], max_length=2000, description="codes of the grids (or communities, streets)"
    )


class AccountUpdate(BaseModel):
    """What is given changes; what is left out stays. `areas` replaces the whole list."""

    name: Text60 | None = Field(default=None, min_length=1)
    title: Text60 | None = None
    phones: list[Phone] | None = Field(default=None, max_length=5)
    org_unit: str | None = Field(default=None, max_length=32)
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=6)
    areas: list[AreaCode] | None = Field(default=None, max_length=2000)


class PasswordReset(BaseModel):
    """A new password set by an administrator: every session and token of the user ends."""

    password: str = Field(max_length=200, description=PASSWORD_RULE)
