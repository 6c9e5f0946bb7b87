"""Operations: reading the audit log and the periodic jobs' state (kit.audit, kit.scheduler);
the people's accounts as administrators list, create, edit and disable them (auth's accounts,
org's directory entries, geo's areas, each through its own service)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.auth import service as auth_service
from civicgrid.geo import queries as geo_queries
from civicgrid.geo import service as geo_service
from civicgrid.kit import scheduler
from civicgrid.kit.audit import AuditEntry
from civicgrid.kit.errors import Conflict
from civicgrid.kit.scheduler import Job, JobRun


class SelfLockout(Conflict):
    """An administrator's change that would shut themselves out."""


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


# --- people: the administrators' list of accounts ---------------------------------------------


@dataclass
class Account:
    """An account as the administrators' list shows it: the user (with its person), when it
    last signed in, and the areas it is responsible for (codes and names)."""

    user: Any  # auth's User, with its person
    last_sign_in: dt.datetime | None
    areas: list[tuple[str, str]]


def _accounts(session: Session, users: list) -> list[Account]:
    names = [u.username for u in users]
    last = auth_service.last_sign_ins(session, names)
    held = geo_queries.responsible_areas(session, names)
    area_names = geo_queries.names_by_code(session, {c for cs in held.values() for c in cs})
    return [
        Account(
            u,
            last.get(u.username),
            [(c, area_names.get(c, c)) for c in held.get(u.username, [])],
        )
        for u in users
    ]


def people_page(
    session: Session,
    *,
    q: str = "",
    role: str | None = None,
    disabled: bool | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[Account], int]:
    """A page of accounts (auth.service.search_users) with their last sign-in and areas, and
    how many match in all."""
    if role is not None:
        auth_service.check_roles([role])
    users, total = auth_service.search_users(
        session, q=q, role=role, disabled=disabled, page=page, per_page=per_page
    )
    return _accounts(session, users), total


def account(session: Session, username: str) -> Account:
    """One account (UserNotFound)."""
    return _accounts(session, [auth_service.require_user(session, username)])[0]


def create_account(
    session: Session,
    *,
    username: str,
    password: str,
    password_hash: str | None,
    name: str,
    org_unit: str,
    roles: list[str],
    title: str = "",
    phones: list[str] = (),
    areas: list[str] | None = None,
) -> Account:
    """A new account with its directory entry (auth.service.create_user) and the areas it is
    responsible for (geo.service.set_responsible_areas)."""
    auth_service.create_user(
        session,
        username=username,
        password=password,
        password_hash=password_hash,
        name=name,
        org_unit_code=org_unit,
        roles=roles,
        title=title,
        phones=phones,
    )
    if areas:
        geo_service.set_responsible_areas(session, username, areas)
    return account(session, username)


def edit_account(session: Session, *, username: str, by: Any, changes: dict) -> Account:
    """Change an account: name, title, phones, unit, roles, areas (what `changes` holds). An
    administrator cannot take the admin role from themselves (SelfLockout): the site would
    lose its way in."""
    user = auth_service.require_user(session, username)
    roles = changes.get("roles")
    if roles is not None and user.id == by.id and "admin" not in roles:
        raise SelfLockout(
            "不能取消自己的管理员角色", "you cannot take the admin role from yourself"
        )
    auth_service.update_user(
        session,
        user,
        name=changes.get("name"),
        title=changes.get("title"),
        phones=changes.get("phones"),
        org_unit_code=changes.get("org_unit"),
        roles=roles,
    )
    if changes.get("areas") is not None:
        geo_service.set_responsible_areas(session, username, changes["areas"])
    return account(session, username)


def reset_password(
    session: Session, *, username: str, password: str, password_hash: str | None = None
) -> Account:
    """A new password set by an administrator (the password rule holds); every session of the
    user ends and every token of theirs is revoked (auth.service.set_password)."""
    user = auth_service.require_user(session, username)
    auth_service.set_password(session, user, password, password_hash=password_hash)
    return account(session, username)


def set_account_disabled(session: Session, *, username: str, by: Any, disabled: bool) -> Account:
    """Disable an account (its sessions end and its tokens are revoked at once:
    auth.service.set_disabled) or enable it again. Administrators cannot disable themselves."""
    user = auth_service.require_user(session, username)
    if disabled and user.id == by.id:
        raise SelfLockout("不能停用自己的账户", "you cannot disable your own account")
    if user.disabled != disabled:
        auth_service.set_disabled(session, user, disabled)
    return account(session, username)
