"""The snow season's pages: the events and the deadline table, an event (sections' lights on
a map, fields' fill bars, trips), the printable daily report, the gate's phone page."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicgrid.auth.deps import PageUser
from civicgrid.kit.db import utcnow
from civicgrid.kit.http import AppSettings, DbSession, RowId
from civicgrid.kit.timefmt import check_year, local_today, local_zone
from civicgrid.org import queries as org_queries
from civicgrid.snowfields import queries, service
from civicgrid.snowfields.exceptions import BadSnow, NotAllowed
from civicgrid.web.i18n import page_words
from civicgrid.web.layout import render

router = APIRouter(include_in_schema=False)

# This domain's words are web.i18n's "snow_*" (snowfields.words, added by civicgrid.app).
PREFIX = "snow_"
STAFF = ("admin", "leader", "dispatcher", "operator", "supervisor", "handler")


def words(request: Request) -> dict[str, str]:
    return page_words(request, PREFIX)


def _local(moment: dt.datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    return moment.astimezone(local_zone()).strftime(fmt) if moment else ""


def _staff(user) -> None:
    if not user.has_role(*STAFF):
        raise NotAllowed("无权查看雪情", "you may not see the snow season")


@router.get("/snow", response_class=HTMLResponse)
def events(request: Request, session: DbSession, user: PageUser) -> HTMLResponse:
    """The snow events, the declaration form (dispatchers, leaders) and the deadline table
    (leaders edit it)."""
    _staff(user)
    w = words(request)
    order = {g: k for k, g in enumerate(service.GRADES)}
    limits = sorted(queries.limits(session), key=lambda r: (order[r.grade], r.street_class))
    rows = [
        {
            "id": e.id,
            "name": e.name,
            "grade": e.grade,
            "started": _local(e.started_at, "%Y-%m-%d %H:%M"),
            "snow_end": _local(e.snow_end_at, "%Y-%m-%d %H:%M"),
            "closed": e.closed_at is not None,
        }
        for e in queries.events(session)
    ]
    return render(
        request,
        "snow.html",
        user,
        w=w,
        events=rows,
        limits=limits,
        grades=service.GRADES,
        may_declare=user.has_role(*service.DECLARERS),
        may_edit=user.has_role("admin", "leader"),
        data={"words": w},
    )


@router.get("/snow/events/{event_id}", response_class=HTMLResponse)
def event(
    request: Request, session: DbSession, user: PageUser, settings: AppSettings, event_id: RowId
) -> HTMLResponse:
    """An event: each section's clear and haul light on the map and in a table, each field's
    fill, the trips."""
    _staff(user)
    w = words(request)
    the_event = service.get_event(session, event_id)
    now = utcnow()
    state = service.evaluate(session, settings, the_event, now)
    units = org_queries.code_names_by_id(session, {s.section.org_unit_id for s in state.sections})
    start, frac = the_event.snow_end_at, settings.light_yellow_fraction
    sections = [
        {
            "code": s.section.code,
            "name": s.section.name,
            "class": s.section.street_class,
            "unit": units.get(s.section.org_unit_id, ("", ""))[1],
            "open_first": s.section.open_first,
            "dirty": s.dirty,
            "clear": s.clear.light(now, start, frac),
            "haul": s.haul.light(now, start, frac),
            "clear_deadline": _local(s.clear.deadline),
            "haul_deadline": _local(s.haul.deadline),
            "clear_done": _local(s.clear.done_at),
            "haul_done": _local(s.haul.done_at),
            "hauled": f"{s.hauled_m3:.0f} / {s.need_m3:.0f}",
            "coordinates": s.section.coordinates,
        }
        for s in state.sections
    ]
    fields = [
        {
            "code": f.code,
            "name": f.name,
            "kind": f.kind,
            "state": f.state,
            "fill": round(state.fills.get(f.id, 0.0), 1),
            "capacity": f.capacity_m3,
            "percent": min(100.0, round(100 * state.fills.get(f.id, 0.0) / f.capacity_m3, 1)),
            "polygon": f.polygon,
        }
        for f in state.fields
    ]
    codes = {f.id: f.name for f in state.fields}
    names = {s.section.id: s.section.name for s in state.sections}
    trips = [
        {
            "plate": t.plate,
            "field": codes.get(t.field_id, ""),
            "section": names.get(t.section_id, w["unknown_origin"]),
            "entered": _local(t.entered_at),
            "volume": t.volume_m3,
            "source": t.source,
        }
        for t in reversed(state.trips[-200:])
    ]
    return render(
        request,
        "snow_event.html",
        user,
        w=w,
        event=the_event,
        started=_local(the_event.started_at, "%Y-%m-%d %H:%M"),
        snow_end=_local(the_event.snow_end_at, "%Y-%m-%d %H:%M"),
        sections=sections,
        fields=fields,
        trips=trips,
        today=local_today().isoformat(),
        may_declare=user.has_role(*service.DECLARERS),
        data={
            "words": w,
            "tiles": settings.tile_url,
            "datum": settings.tile_datum,
            "sections": [
                {k: s[k] for k in ("code", "name", "clear", "coordinates")} for s in sections
            ],
            "fields": [{k: f[k] for k in ("code", "name", "percent", "polygon")} for f in fields],
        },
    )


@router.get("/snow/events/{event_id}/report", response_class=HTMLResponse)
def daily_report(
    request: Request,
    session: DbSession,
    user: PageUser,
    settings: AppSettings,
    event_id: RowId,
    day: str | None = None,
) -> HTMLResponse:
    """The daily snow report of a day, printable."""
    _staff(user)
    w = words(request)
    the_event = service.get_event(session, event_id)
    if day:
        try:
            the_day = dt.date.fromisoformat(day)
        except ValueError:
            raise BadSnow("日期格式应为 2026-11-30", "day must look like 2026-11-30") from None
        check_year(the_day, "day")
    else:
        the_day = local_today()
    report = service.daily_report(session, settings, the_event, the_day, utcnow())
    return render(
        request,
        "snow_report.html",
        user,
        w=w,
        event=the_event,
        report=report,
        day=the_day.isoformat(),
        as_of=_local(report["as_of"], "%Y-%m-%d %H:%M"),
        statuses=("on_time", "late", "overdue", "open"),
        data={"words": w},
    )


@router.get("/snow/gate", response_class=HTMLResponse)
def gate(request: Request, session: DbSession, user: PageUser) -> HTMLResponse:
    """The phone page at a field's gate: a truck's plate and load as it enters."""
    _staff(user)
    w = words(request)
    now = utcnow()
    current = service.active_event(session, now)
    fields = queries.fields_of(session, current.id if current else None)
    return render(
        request,
        "snow_gate.html",
        user,
        w=w,
        event=current,
        fields=fields,
        sections=queries.sections(session),
        data={"words": w, "event": current.id if current else None},
    )
