"""Work logs' pages: a person's day (write, correct, submit; the leader reviews on the same
page), the leader's page of who has not submitted, and a month's printable page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from civicgrid.auth import service as auth_service
from civicgrid.auth.deps import PageUser
from civicgrid.kit.http import AppSettings, DbSession, RowId
from civicgrid.kit.timefmt import local_zone
from civicgrid.org import queries as org_queries
from civicgrid.org import service as org_service
from civicgrid.web.i18n import lang_of, page_words
from civicgrid.web.layout import render
from civicgrid.worklogs import queries, service
from civicgrid.worklogs.exceptions import BadLog, NotAllowed

router = APIRouter(include_in_schema=False)

# This domain's words are web.i18n's "worklogs_*" (one place for every page word).
PREFIX = "worklogs_"


def words(request: Request) -> dict[str, str]:
    return page_words(request, PREFIX)


def _log_view(session: Session, user, log, w: dict[str, str]) -> dict:
    zone = local_zone()
    names = org_queries.person_names_by_id(session, [log.person_id])
    unit = org_queries.code_names_by_id(session, [log.unit_id])[log.unit_id]
    base = f"/api/v1/worklogs/{log.id}/photos"
    entries = [
        {
            "id": e.id,
            "seq": e.seq,
            "time": f"{e.at.astimezone(zone):%H:%M}",
            "text": e.text,
            "source": w.get(f"source_{e.source}", e.source),
            "case_code": e.case_code,
            "lon": e.lon,
            "lat": e.lat,
            "amendment": e.amendment,
            "corrects": e.corrects,
            "editable": log.submitted_at is None,
            "photos": [
                {"url": f"{base}/{p.id}", "thumb": f"{base}/{p.id}?thumb=true"} for p in e.photos
            ],
        }
        for e in sorted(log.entries, key=lambda e: (e.at, e.seq))
    ]
    return {
        "id": log.id,
        "person": names.get(log.person_id, ""),
        "unit": unit[1],
        "day": log.day.isoformat(),
        "state": log.state,
        "state_name": w[f"state_{log.state}"],
        "distance_km": None if log.distance_m is None else f"{log.distance_m / 1000:.2f}",
        "review_comment": log.review_comment,
        "reviewed_by": log.reviewed_by,
        "entries": entries,
        "history": [
            {
                "at": f"{e.at.astimezone(zone):%Y-%m-%d %H:%M}",
                "action": w.get(f"act_{e.action}", e.action),
                "by": e.by,
                "comment": e.comment,
            }
            for e in queries.history(session, log.id)
        ],
        "may_write": service.is_author(user, log) and log.state != "approved",
        "draft": log.submitted_at is None,
        "may_submit": service.is_author(user, log) and log.state in ("draft", "returned"),
        "may_review": service.may_review(session, user, log) and log.state == "submitted",
    }


def _render_log(request, session, user, settings, log, day: str, mine: bool) -> HTMLResponse:
    w = words(request)
    view = _log_view(session, user, log, w) if log else None
    return render(
        request,
        "worklog.html",
        user,
        w=w,
        log=view,
        day=day,
        mine=mine,
        is_leader=user.has_role("leader", "admin"),
        month=day[:7],
        person_id=log.person_id if log else user.person_id,
        data={
            "log": log.id if log else None,
            "day": day,
            "tiles": settings.tile_url,
            "datum": settings.tile_datum,
            "entries": view["entries"] if view else [],
            "words": w,
        },
    )


@router.get("/worklogs", response_class=HTMLResponse)
def my_day(
    request: Request,
    session: DbSession,
    user: PageUser,
    settings: AppSettings,
    day: str | None = None,
) -> HTMLResponse:
    """The signed-in person's log of a day (today by default)."""
    the_day = service.parse_day(day) if day else service.today()
    log = queries.log_of(session, user.person_id, the_day)
    return _render_log(request, session, user, settings, log, the_day.isoformat(), True)


@router.get("/worklogs/team", response_class=HTMLResponse)
def team(
    request: Request,
    session: DbSession,
    user: PageUser,
    settings: AppSettings,
    day: str | None = None,
    unit: str | None = None,
) -> HTMLResponse:
    """A leader's day: per unit, who has not submitted; the day's logs to open and review;
    the monthly exports."""
    if not user.has_role("leader", "admin"):
        raise NotAllowed()
    w = words(request)
    the_day = service.parse_day(day) if day else service.today()
    unit = unit or None
    missing = service.not_submitted(session, settings, user, the_day, unit)
    logs = service.to_review(session, user, the_day, unit)
    names = org_queries.person_names_by_id(session, {log.person_id for log in logs})
    units_of = org_queries.code_names_by_id(session, {log.unit_id for log in logs})
    scope = service.units_under(session, user, None)
    # the monthly export of the unit they lead (an administrator: of their scope)
    home = (
        auth_service.scope_unit(session, user) if user.has_role("admin") else user.person.org_unit
    )
    choices = [
        (u.code, u.name)
        for u in org_service.units(session, None)
        if (scope is None or u.code in scope) and u.kind != "community"
    ]
    return render(
        request,
        "worklog_team.html",
        user,
        w=w,
        day=the_day.isoformat(),
        month=the_day.isoformat()[:7],
        unit=unit or "",
        export_unit=unit or (home.code if home else ""),
        units=choices,
        missing=missing,
        logs=[
            {
                "id": log.id,
                "person_id": log.person_id,
                "person": names.get(log.person_id, ""),
                "unit": units_of[log.unit_id][1],
                "state": w[f"state_{log.state}"],
                "entries": len(log.entries),
            }
            for log in logs
        ],
    )


@router.get("/worklogs/print", response_class=HTMLResponse)
def printable(
    request: Request,
    session: DbSession,
    user: PageUser,
    month: str,
    person: int | None = None,
    unit: str | None = None,
) -> HTMLResponse:
    """A month of logs of one person or one unit, as a page to print."""
    if person is not None and not 1 <= person <= 2**31 - 1:
        raise BadLog("person 不正确", "person is not valid")
    whose, logs, names, units = service.month_rows(
        session, user, month, person_id=person, unit_code=unit or None
    )
    lang = 1 if lang_of(request) == "en" else 0
    return render(
        request,
        "worklog_print.html",
        user,
        w=words(request),
        whose=whose,
        headers=(service.HEADERS, service.HEADERS_EN)[lang],
        rows=service.export_lines(logs, names, units, lang),
        month=month,
        person=person,
        unit=unit or "",
    )


@router.get("/worklogs/{log_id}", response_class=HTMLResponse)
def one_log(
    request: Request, session: DbSession, user: PageUser, settings: AppSettings, log_id: RowId
) -> HTMLResponse:
    """A log: its author writes here, its unit's leader reviews here."""
    log = service.readable_log(session, user, log_id)
    mine = service.is_author(user, log)
    return _render_log(request, session, user, settings, log, log.day.isoformat(), mine)
