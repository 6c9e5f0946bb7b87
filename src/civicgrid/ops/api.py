"""Operations for administrators: the audit log and the periodic jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from civicgrid.auth.deps import CurrentUser, require_roles
from civicgrid.kit.http import DbSession
from civicgrid.kit.timefmt import parse_time
from civicgrid.ops import service
from civicgrid.ops.schemas import (
    AccountCreate,
    AccountPage,
    AccountRead,
    AccountUpdate,
    AuditPage,
    AuditRead,
    JobRead,
    PasswordReset,
)

# A username in a path: what auth.service accepts (USERNAME_RE), else 422 before any lookup.
Username = Annotated[str, Path(min_length=2, max_length=60, pattern=r"^[A-Za-z0-9_.\-]+$")]

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


# --- people ------------------------------------------------------------------------------------
# Every write below is in the audit log (kit.audit: the users, people and areas tables are
# registered), by the signed-in administrator; a password only as "***".


@router.get("/users", response_model=AccountPage)
def users(
    session: DbSession,
    q: Annotated[
        str, Query(max_length=60, description="username, name, pinyin initials or phone digits")
    ] = "",
    role: Annotated[str | None, Query(max_length=20)] = None,
    disabled: bool | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AccountPage:
    """The accounts, by username, a page at a time, with the total that match."""
    found, total = service.people_page(
        session, q=q, role=role, disabled=disabled, page=page, per_page=per_page
    )
    return AccountPage(
        items=[AccountRead.of(a) for a in found], total=total, page=page, per_page=per_page
    )


# Creating an account and resetting a password hash the password (slow on purpose) inside
# the request's transaction, as /api/v1/users does: administrators' writes are rare.


@router.post("/users", response_model=AccountRead, status_code=201)
def create_user(body: AccountCreate, session: DbSession) -> AccountRead:
    """A new account with its directory entry and the areas it is responsible for."""
    found = service.create_account(
        session,
        username=body.username,
        password=body.password,
        password_hash=None,
        name=body.name,
        org_unit=body.org_unit,
        roles=body.roles,
        title=body.title,
        phones=body.phones,
        areas=body.areas,
    )
    return AccountRead.of(found)


@router.get("/users/{username}", response_model=AccountRead)
def user(username: Username, session: DbSession) -> AccountRead:
    return AccountRead.of(service.account(session, username))


@router.patch("/users/{username}", response_model=AccountRead)
def update_user(
    username: Username, body: AccountUpdate, session: DbSession, by: CurrentUser
) -> AccountRead:
    """Change name, title, phones, unit, roles or areas; what is left out stays."""
    changes = body.model_dump(exclude_unset=True)
    return AccountRead.of(service.edit_account(session, username=username, by=by, changes=changes))


@router.post("/users/{username}/password", response_model=AccountRead)
def reset_password(username: Username, body: PasswordReset, session: DbSession) -> AccountRead:
    """Set a new password: every session of the user ends, every token is revoked."""
    return AccountRead.of(
        service.reset_password(session, username=username, password=body.password)
    )


@router.post("/users/{username}/disable", response_model=AccountRead)
def disable_user(username: Username, session: DbSession, by: CurrentUser) -> AccountRead:
    """Disable an account: its sessions end and its tokens are revoked at once."""
    found = service.set_account_disabled(session, username=username, by=by, disabled=True)
    return AccountRead.of(found)


@router.post("/users/{username}/enable", response_model=AccountRead)
def enable_user(username: Username, session: DbSession, by: CurrentUser) -> AccountRead:
    """Enable a disabled account (it signs in again with its password)."""
    found = service.set_account_disabled(session, username=username, by=by, disabled=False)
    return AccountRead.of(found)
