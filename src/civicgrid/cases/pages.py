"""The staff's case pages: the console and its queues, a case, the dispatch board, and the
administrators' page (time limits, dispatch rules, the calendar, people and units)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from civicgrid.auth import service as auth_service
from civicgrid.auth.deps import PageUser
from civicgrid.cases import policy, views, workflow
from civicgrid.cases import queries as case_queries
from civicgrid.cases import service as case_service
from civicgrid.categories import queries as cat_queries
from civicgrid.categories import service as cat_service
from civicgrid.kit import audit, scheduler
from civicgrid.kit.db import utcnow
from civicgrid.kit.errors import Forbidden
from civicgrid.kit.http import MAX_ID, AppSettings, DbSession
from civicgrid.kit.timefmt import iso_local
from civicgrid.media import service as media_service
from civicgrid.org import service as org_service
from civicgrid.web.i18n import lang_of, translator
from civicgrid.web.layout import render, seconds_left, words

router = APIRouter(include_in_schema=False)


PAGE_SIZE = 50


@router.get("/console", response_class=HTMLResponse)
def console(
    request: Request,
    session: DbSession,
    user: PageUser,
    queue: str | None = None,
    q: Annotated[str, Query(max_length=100)] = "",
    sort: str = "deadline",
    cursor: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> HTMLResponse:
    """Each role's queues; a page of cases of one queue, or a search over every case the user
    may see; the total; a cursor to the next page."""
    mine = case_queries.queues_for(user.roles)
    queue = queue if queue in mine else mine[0]
    sort = sort if sort in case_queries.SORTS else "deadline"
    q = q.strip()
    phone = any(r in views.CONTACT_ROLES for r in user.roles)
    scope = auth_service.scope_codes(session, user)
    now = utcnow()
    counts = [(key, case_queries.count_queue(session, key, scope=scope)) for key in mine]
    found = case_queries.list_queue(
        session,
        queue,
        scope=scope,
        q=q,
        phone=phone,
        limit=PAGE_SIZE + 1,
        cursor=cursor,
        sort=sort,
        now=now,
    )
    cases, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    total = case_queries.count_queue(session, queue, scope=scope, q=q, phone=phone, now=now)
    names = cat_service.category_names(session)
    rows = [
        {
            **views.case_summary(c, now),
            "category_name": names.get(c.category_code, c.category_code),
            "left_seconds": seconds_left(c.deadline, now),
        }
        for c in cases
    ]
    dispatchable = queue == "to_dispatch" and not q and user.has_role("dispatcher")
    return render(
        request,
        "console.html",
        user,
        queues=counts,
        queue=queue,
        cases=rows,
        q=q,
        phone=phone,
        sort=sort,
        sorts=case_queries.SORTS,
        total=total,
        cursor=cursor,
        next_cursor=cases[-1].id if more else None,
        dispatchable=dispatchable,
    )


@router.get("/console/cases/{code}", response_class=HTMLResponse)
def case_page(
    code: str, request: Request, session: DbSession, user: PageUser, settings: AppSettings
) -> HTMLResponse:
    case = case_service.get_visible_case(session, code, auth_service.scope_codes(session, user))
    events = case_service.events_of(session, case)
    detail = views.case_detail(
        session, case, events, user.roles, media_service.photos_of(session, case.id)
    )
    unit = org_service.find_unit(session, case.unit_code) if case.unit_code else None
    detail.update(
        category_name=cat_service.category_names(session).get(case.category_code),
        unit_name=unit.name if unit else None,
    )
    # who did each step, by the person's name in the directory (the account's username when
    # it has none; the citizen and the system by their role)
    names = auth_service.person_names(session, (e.actor for e in events))
    for row in detail["timeline"]:
        row["who"] = names.get(row["actor"], row["actor"]) if row["actor"] else None
    rates = [row for row in detail["timeline"] if row["action"] == "rate"]
    detail.update(
        rating=rates[-1] if rates else None,  # the latest rating counts (kpis.md)
        urges=[row for row in detail["timeline"] if row["action"] == "urge"],
    )
    actions = policy.allowed_for(session, case, user)
    units = [u for u in org_service.units(session) if u.kind in ("street", "department")]
    return render(
        request,
        "case.html",
        user,
        case=detail,
        actions=actions,
        words=words(lang_of(request)),
        units=units,
        tiles=settings.tile_url,
    )


@router.get("/board", response_class=HTMLResponse)
def board(request: Request, user: PageUser, settings: AppSettings) -> HTMLResponse:
    return render(
        request, "board.html", user, tiles=settings.tile_url, words=words(lang_of(request))
    )


def limit_rows(session) -> list[dict]:
    """The time limits as the admin page lists them: each scope named by its category."""
    limits = cat_service.list_limits(session)
    scopes = [lim.scope.partition(":") for lim in limits]
    major_codes = {c for k, _, c in scopes if k == "major"}
    majors = cat_queries.names_by_code(session, major_codes, major=True)
    codes = cat_queries.names_by_code(session, {c for k, _, c in scopes if c and k != "major"})
    rows = []
    for lim, (kind, _, code) in zip(limits, scopes, strict=True):
        name = majors.get(code) if kind == "major" else codes.get(code) if code else None
        rows.append(
            {
                "scope": lim.scope,
                "name": name,
                "urgency": lim.urgency,
                "limit": lim.limit,
                "unit": lim.unit,
            }
        )
    return rows


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, session: DbSession, user: PageUser) -> HTMLResponse:
    """Org units, time limits, dispatch rules, the holiday calendar, grid import (people: the
    page of ops.pages, /admin/people)."""
    from civicgrid.cases import admin as case_admin
    from civicgrid.cases import routing

    if not user.has_role("admin"):
        raise Forbidden("此页面仅限管理员使用", "this page is for administrators only")
    every = org_service.units(session)
    units = [u for u in every if u.kind != "community"]
    return render(
        request,
        "admin.html",
        user,
        units=units,
        unit_names={u.code: u.name for u in every},
        words=words(lang_of(request)),
        kinds=org_service.UNIT_KINDS,
        limits=limit_rows(session),
        limit_units=workflow.LIMIT_UNITS,
        rules=routing.list_rules(session),
        calendar=case_admin.calendar_entries(session),
        jobs=_job_rows(session, translator(lang_of(request))),
        erasures=[
            {"at": iso_local(e.at), **(e.after or {})}
            for e in audit.latest(session, "retention", limit=20)
        ],
        assessment=_assessment_settings(),
    )


def _assessment_settings() -> dict:
    """The settings of reference/assessment.md (stats.assessment), shown to administrators:
    they are changed as every setting is (CIVICGRID_ASSESSMENT_*)."""
    from civicgrid.config import get_settings

    s = get_settings()
    limits = [
        (f"assessment_limit_{k}_minutes", getattr(s, f"assessment_limit_{k}_minutes"))
        for k in ("registration", "dispatch", "check")
    ]
    return {
        "limits": limits,
        "weights": s.assessment_weights,
        "bands": s.assessment_bands,
        "spotcheck": s.spotcheck_assessment_weight,
    }


def _every(t, every: dt.timedelta) -> str:
    """A job's interval in the page's words: every minute, every 5 min, every hour, every day."""
    minutes = int(every.total_seconds() // 60)
    for size, unit in ((1440, "day"), (60, "hour"), (1, "minute")):
        if minutes % size == 0:
            n = minutes // size
            return t(f"jobs_every_{unit}") if n == 1 else t(f"jobs_every_{unit}s").format(n=n)
    return str(every)


def _job_rows(session, t) -> list[dict]:
    """Every periodic job of the one scheduler: interval, last run, result, next run."""
    states = scheduler.job_states(session)
    rows = []
    for job in scheduler.jobs():
        state = states.get(job.name)
        rows.append(
            {
                "name": job.name,
                "description": job.description,
                "every": _every(t, job.every),
                "last": iso_local(state.last_started_at) if state else None,
                "ok": state.last_ok if state else None,
                "error": state.last_error if state else None,
                "next": iso_local(state.next_run_at) if state else None,
                "runs": state.runs if state else 0,
            }
        )
    return rows
