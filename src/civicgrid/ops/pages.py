"""The administrators' people page: the accounts listed (paged, searchable) and edited, in
words (roles by name, units by name), through the JSON routes of ops.api."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from civicgrid.auth import service as auth_service
from civicgrid.auth.deps import PageUser
from civicgrid.kit.errors import Forbidden
from civicgrid.kit.http import DbSession
from civicgrid.kit.timefmt import local_zone
from civicgrid.ops import service
from civicgrid.org import service as org_service
from civicgrid.web.i18n import lang_of, translator
from civicgrid.web.layout import render

router = APIRouter(include_in_schema=False)

PER_PAGE = 30
STATES = {"active": False, "disabled": True}


def _admin_only(user) -> None:
    if not user.has_role("admin"):
        raise Forbidden("此页面仅限管理员使用", "this page is for administrators only")


def _row(account, t) -> dict:
    """An account in words: roles and unit by name, the last sign-in in local time."""
    user = account.user
    last = account.last_sign_in
    return {
        "username": user.username,
        "name": user.person.name,
        "title": user.person.title,
        "roles": list(user.roles),
        "role_names": [t(f"role_{r}") for r in user.roles],
        "unit": user.org_unit.code,
        "unit_name": user.org_unit.name,
        "phones": [p for p in user.person.phones.split(",") if p],
        "disabled": user.disabled,
        "last_sign_in": last.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M") if last else None,
        "areas": account.areas,
    }


def _units(session) -> list:
    return [u for u in org_service.units(session) if u.kind != "city"]


@router.get("/admin/people", response_class=HTMLResponse)
def people(
    request: Request,
    session: DbSession,
    user: PageUser,
    q: Annotated[str, Query(max_length=60)] = "",
    role: Annotated[str, Query(max_length=20)] = "",
    state: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Every account, a page at a time, found by name, username, initials or phone."""
    _admin_only(user)
    t = translator(lang_of(request))
    role = role if role in auth_service.ROLES else ""
    state = state if state in STATES else ""
    found, total = service.people_page(
        session,
        q=q,
        role=role or None,
        disabled=STATES.get(state),
        page=page,
        per_page=PER_PAGE,
    )
    pages = max(1, math.ceil(total / PER_PAGE))
    here = {k: v for k, v in {"q": q, "role": role, "state": state}.items() if v}
    return render(
        request,
        "people.html",
        user,
        rows=[_row(a, t) for a in found],
        total=total,
        page=page,
        pages=pages,
        here=here,
        q=q,
        role=role,
        state=state,
        roles=auth_service.ROLES,
        units=_units(session),
    )


@router.get("/admin/people/{username}", response_class=HTMLResponse)
def person(
    request: Request,
    session: DbSession,
    user: PageUser,
    username: Annotated[str, Path(max_length=60)],
) -> HTMLResponse:
    """One account: its details, roles, unit and grids to edit; a new password; disable."""
    _admin_only(user)
    t = translator(lang_of(request))
    return render(
        request,
        "person.html",
        user,
        p=_row(service.account(session, username), t),
        roles=auth_service.ROLES,
        units=_units(session),
        myself=username == user.username,
    )
