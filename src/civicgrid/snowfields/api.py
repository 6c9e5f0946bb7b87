"""The snow season's JSON routes: the deadline table, events and their sections' states,
sections and fields, reports, gate tickets, surveys, the daily report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Form, Path, Query, Response, UploadFile
from sqlalchemy.orm import Session

from civicgrid.auth.deps import CurrentUser, require_roles
from civicgrid.kit.db import utcnow
from civicgrid.kit.http import AppSettings, DbSession, RowId, binary_answer
from civicgrid.kit.timefmt import check_year, local_today, parse_time
from civicgrid.org import queries as org_queries
from civicgrid.snowfields import queries, service
from civicgrid.snowfields.models import SnowEvent, SnowField, SnowSection
from civicgrid.snowfields.schemas import (
    CheckRead,
    DailyReport,
    Deadline,
    DirtyWrite,
    EventCreate,
    EventRead,
    EventUpdate,
    FieldRead,
    FieldStateWrite,
    FieldWrite,
    ImportRead,
    LimitRead,
    LimitWrite,
    ReportRead,
    RouteRead,
    SectionRead,
    SectionStateRead,
    SectionWrite,
    SurveyRead,
    SurveyWrite,
    TaskRead,
    TicketRead,
    TicketWrite,
    TripRead,
    WorkersWrite,
)

# the periodic job registers when imported (the app imports this module)
JOBS = (service.CHECK_JOB,)
router = APIRouter(prefix="/api/v1/snow", tags=["snow"])
declarers = [Depends(require_roles(*service.DECLARERS))]
editors = [Depends(require_roles("admin", "leader"))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Code = Annotated[str, Path(min_length=1, max_length=40)]
DayText = Annotated[str | None, Query(max_length=10, description="a local day, 2026-11-30")]


def _time(text: str | None, name: str) -> dt.datetime | None:
    return None if text is None else parse_time(text, name).astimezone(dt.UTC)


def event_read(session: Session, event: SnowEvent) -> EventRead:
    dls = service.deadlines(event, service.limits_table(session))
    return EventRead(
        id=event.id,
        name=event.name,
        started_at=event.started_at,
        snow_end_at=event.snow_end_at,
        grade=event.grade,
        precipitation_mm=event.precipitation_mm,
        depth_m=event.depth_m,
        forecast_at=event.forecast_at,
        gather_notice_id=event.gather_notice_id,
        closed_at=event.closed_at,
        created_by=event.created_by,
        deadlines=[Deadline(street_class=c, clear_by=v[0], haul_by=v[1]) for c, v in dls.items()],
    )


def section_read(section: SnowSection, units: dict[int, tuple[str, str]]) -> SectionRead:
    unit = units.get(section.org_unit_id, ("", ""))
    return SectionRead(
        code=section.code,
        name=section.name,
        street_class=section.street_class,
        unit=unit[0],
        unit_name=unit[1],
        coordinates=section.coordinates,
        length_m=round(section.length_m, 2),
        area_m2=round(section.area_m2, 2),
        open_first=section.open_first,
    )


def field_read(f: SnowField, fill: float | None = None) -> FieldRead:
    return FieldRead(
        code=f.code,
        name=f.name,
        polygon=f.polygon,
        capacity_m3=f.capacity_m3,
        kind=f.kind,
        state=f.state,
        hours=f.hours,
        lanes=f.lanes,
        initial_fill_m3=f.initial_fill_m3,
        event_id=f.event_id,
        fill_m3=None if fill is None else round(fill, 2),
        percent=None if fill is None else round(100 * fill / f.capacity_m3, 1),
    )


# --- the deadline table ---


@router.get("/limits", response_model=list[LimitRead])
def limits(session: DbSession) -> list[LimitRead]:
    """The deadline table: natural hours from 雪停, by grade and street class."""
    order = {g: k for k, g in enumerate(service.GRADES)}
    rows = sorted(queries.limits(session), key=lambda r: (order.get(r.grade, 99), r.street_class))
    return [LimitRead.model_validate(r) for r in rows]


@router.put("/limits/{grade}/{street_class}", response_model=LimitRead, dependencies=editors)
def edit_limit(
    session: DbSession,
    user: CurrentUser,
    grade: Annotated[str, Path(max_length=8)],
    street_class: Annotated[str, Path(max_length=1)],
    body: LimitWrite,
) -> LimitRead:
    r = service.edit_limit(
        session,
        grade=grade,
        street_class=street_class,
        clear_hours=body.clear_hours,
        haul_hours=body.haul_hours,
        by=user.username,
    )
    return LimitRead.model_validate(r)


# --- events ---


@router.get("/events", response_model=list[EventRead])
def events(session: DbSession) -> list[EventRead]:
    return [event_read(session, e) for e in queries.events(session)]


@router.post("/events", response_model=EventRead, status_code=201, dependencies=declarers)
def declare(session: DbSession, user: CurrentUser, body: EventCreate) -> EventRead:
    """Declare a snow event (dispatchers, leaders). With `forecast_at`, a warning to gather 1 h
    before it is published when the declarer may publish notices."""
    event = service.declare(
        session,
        user,
        name=body.name,
        started_at=_time(body.started_at, "started_at"),
        snow_end_at=_time(body.snow_end_at, "snow_end_at"),
        grade=body.grade,
        precipitation_mm=body.precipitation_mm,
        depth_m=body.depth_m,
        forecast_at=_time(body.forecast_at, "forecast_at"),
    )
    return event_read(session, event)


@router.get("/events/{event_id}", response_model=EventRead)
def event(session: DbSession, event_id: RowId) -> EventRead:
    return event_read(session, service.get_event(session, event_id))


@router.patch("/events/{event_id}", response_model=EventRead, dependencies=declarers)
def update_event(session: DbSession, event_id: RowId, body: EventUpdate) -> EventRead:
    """Set 雪停, the grade (or the precipitation it follows), the depth, or close the event."""
    event = service.get_event(session, event_id)
    changes: dict[str, Any] = {}
    for key in body.model_fields_set:
        value = getattr(body, key)
        changes[key] = _time(value, key) if key in ("snow_end_at", "closed_at") else value
    if "grade" in changes and changes["grade"] is None:
        changes.pop("grade")
    if "depth_m" in changes and changes["depth_m"] is None:
        changes.pop("depth_m")
    return event_read(session, service.update_event(session, event, **changes))


@router.get("/events/{event_id}/sections", response_model=list[SectionStateRead])
def section_states(
    session: DbSession, settings: AppSettings, event_id: RowId
) -> list[SectionStateRead]:
    """Every section's clear and haul task: deadline, when done and how (report, gps,
    trips), status and light, as of now."""
    event = service.get_event(session, event_id)
    now = utcnow()
    state = service.evaluate(session, settings, event, now)
    units = org_queries.code_names_by_id(session, {s.section.org_unit_id for s in state.sections})
    rows = queries.event_sections(session, event.id)
    start, frac = event.snow_end_at, settings.light_yellow_fraction

    def task(ts: service.TaskState) -> TaskRead:
        return TaskRead(
            deadline=ts.deadline,
            done_at=ts.done_at,
            by=ts.by,
            status=ts.status(now),
            light=ts.light(now, start, frac),
        )

    return [
        SectionStateRead(
            code=s.section.code,
            name=s.section.name,
            street_class=s.section.street_class,
            unit=units.get(s.section.org_unit_id, ("", ""))[0],
            open_first=s.section.open_first,
            dirty=s.dirty,
            clear=task(s.clear),
            haul=task(s.haul),
            hauled_m3=round(s.hauled_m3, 2),
            need_m3=round(s.need_m3, 2),
            clear_case=rows[s.section.id].clear_case if s.section.id in rows else None,
            haul_case=rows[s.section.id].haul_case if s.section.id in rows else None,
        )
        for s in state.sections
    ]


@router.put("/events/{event_id}/sections/{code}/dirty", response_model=DirtyWrite)
def set_dirty(session: DbSession, event_id: RowId, code: Code, body: DirtyWrite) -> DirtyWrite:
    """Melting agent used on the section in this event (污雪), as its unit enters it."""
    event = service.get_event(session, event_id)
    row = service.set_dirty(session, event, service.get_section(session, code), body.dirty)
    return DirtyWrite(dirty=row.dirty)


@router.post(
    "/events/{event_id}/sections/{code}/reports", response_model=ReportRead, status_code=201
)
def add_report(
    session: DbSession,
    settings: AppSettings,
    user: CurrentUser,
    event_id: RowId,
    code: Code,
    task: Annotated[str, Form(max_length=8, description="clear or haul")],
    photo: Annotated[UploadFile, File()],
    checks: Annotated[list[str] | None, Form(max_length=5)] = None,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> ReportRead:
    """A handler's report that a section's task is done: a photo and the checks seen
    (露路面、见道线、无残片、路边净、无存堆)."""
    event = service.get_event(session, event_id)
    section = service.get_section(session, code)
    row = service.report(
        session,
        settings,
        event,
        section,
        task=task,
        photo=photo.file.read(settings.photo_max_bytes + 1),
        checks=[c for c in checks or [] if c],
        note=note,
        by=user.username,
        at=utcnow(),
    )
    return ReportRead(
        id=row.id,
        section=section.code,
        task=row.task,
        at=row.at,
        checks=row.checks,
        note=row.note,
        by=row.by,
    )


@router.get("/events/{event_id}/trips", response_model=list[TripRead])
def trips(session: DbSession, settings: AppSettings, event_id: RowId) -> list[TripRead]:
    """The event's trips: from tracks (a hauler's stay ≥ 2 min in a field) and gate tickets."""
    event = service.get_event(session, event_id)
    state = service.evaluate(session, settings, event, utcnow())
    fields = {f.id: f.code for f in state.fields}
    sections = {s.section.id: s.section.code for s in state.sections}
    return [
        TripRead(
            plate=t.plate,
            field=fields.get(t.field_id, ""),
            section=sections.get(t.section_id) if t.section_id else None,
            entered_at=t.entered_at,
            left_at=t.left_at,
            volume_m3=t.volume_m3,
            source=t.source,
            ticket_id=t.ticket_id,
        )
        for t in state.trips
    ]


@router.post("/events/{event_id}/tickets", response_model=TicketRead, status_code=201)
def add_ticket(
    session: DbSession, user: CurrentUser, event_id: RowId, body: TicketWrite
) -> TicketRead:
    """A gate ticket (运雪号牌) entered at a field's gate, for a truck without a terminal or
    with a measured load."""
    event = service.get_event(session, event_id)
    f = service.get_field(session, body.field)
    at = _time(body.entered_at, "entered_at") or utcnow()
    row = service.add_ticket(
        session,
        event,
        f,
        plate=body.plate,
        entered_at=at,
        volume_m3=body.volume_m3,
        section_code=body.section,
        by=user.username,
    )
    return TicketRead(
        id=row.id,
        field=f.code,
        plate=row.plate,
        entered_at=row.entered_at,
        volume_m3=row.volume_m3,
        section=body.section,
        by=row.by,
    )


@router.put("/events/{event_id}/workers", response_model=WorkersWrite, dependencies=declarers)
def enter_workers(session: DbSession, event_id: RowId, body: WorkersWrite) -> WorkersWrite:
    """人次 entered for a unit and a day (used where the unit has no work logs that day)."""
    check_year(body.day, "day")
    event = service.get_event(session, event_id)
    service.enter_workers(session, event, day=body.day, unit_code=body.unit, workers=body.workers)
    return body


@router.get("/events/{event_id}/route", response_model=RouteRead)
def route(
    session: DbSession,
    settings: AppSettings,
    event_id: RowId,
    section: Annotated[str, Query(min_length=1, max_length=40)],
) -> RouteRead:
    """The field a new trip from this section should go to (nearest open field of a fitting
    kind below its capacity); `field` null when none."""
    event = service.get_event(session, event_id)
    state = service.evaluate(session, settings, event, utcnow())
    found = service.route_field(session, event, service.get_section(session, section), state.fills)
    return RouteRead(
        section=section, field=field_read(found, state.fills.get(found.id)) if found else None
    )


@router.post("/events/{event_id}/check", response_model=CheckRead, dependencies=declarers)
def check(session: DbSession, settings: AppSettings, event_id: RowId) -> CheckRead:
    """Run the event's checks now (the scheduler runs them every 5 minutes)."""
    event = service.get_event(session, event_id)
    return CheckRead(**service.check_event(session, settings, event, utcnow()))


def _day(event: SnowEvent, text: str | None) -> dt.date:
    if text is None:
        return local_today()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise service.BadSnow("日期格式应为 2026-11-30", "day must look like 2026-11-30") from None
    check_year(day, "day")
    return day


@router.get("/events/{event_id}/report", response_model=DailyReport)
def daily_report(
    session: DbSession, settings: AppSettings, event_id: RowId, day: DayText = None
) -> DailyReport:
    """The daily snow report of a local day (default today)."""
    event = service.get_event(session, event_id)
    return DailyReport(**service.daily_report(session, settings, event, _day(event, day), utcnow()))


@router.get(
    "/events/{event_id}/report.xlsx", response_class=Response, responses=binary_answer(XLSX)
)
def daily_report_xlsx(
    session: DbSession, settings: AppSettings, event_id: RowId, day: DayText = None
) -> Response:
    event = service.get_event(session, event_id)
    the_day = _day(event, day)
    data = service.report_xlsx(service.daily_report(session, settings, event, the_day, utcnow()))
    name = f"snow-report-{event.id}-{the_day.isoformat()}.xlsx"
    return Response(
        data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# --- sections ---


@router.get("/sections", response_model=list[SectionRead])
def sections(session: DbSession) -> list[SectionRead]:
    found = queries.sections(session)
    units = org_queries.code_names_by_id(session, {s.org_unit_id for s in found})
    return [section_read(s, units) for s in found]


@router.put("/sections/{code}", response_model=SectionRead, dependencies=declarers)
def save_section(session: DbSession, code: Code, body: SectionWrite) -> SectionRead:
    section = service.save_section(
        session,
        code=code,
        name=body.name,
        street_class=body.street_class,
        unit_code=body.unit,
        coordinates=body.coordinates,
        width_m=body.width_m,
        area_m2=body.area_m2,
        open_first=body.open_first,
    )
    units = org_queries.code_names_by_id(session, {section.org_unit_id})
    return section_read(section, units)


@router.post("/sections/import", response_model=ImportRead, dependencies=declarers)
def import_sections(
    session: DbSession, body: Annotated[dict[str, Any], Body(description="GeoJSON")]
) -> ImportRead:
    """Sections from a GeoJSON FeatureCollection of LineStrings (properties: code, name,
    class, unit, width_m or area_m2, open_first). All or nothing; malformed geometry is 422."""
    found = service.import_geojson(session, body)
    return ImportRead(imported=len(found), codes=[s.code for s in found])


# --- fields ---


@router.get("/fields", response_model=list[FieldRead])
def fields(session: DbSession, settings: AppSettings) -> list[FieldRead]:
    """The fields; during an event with their fill."""
    now = utcnow()
    event = service.active_event(session, now)
    if event is None:
        return [field_read(f) for f in queries.fields_of(session, None)]
    state = service.evaluate(session, settings, event, now)
    return [field_read(f, state.fills.get(f.id)) for f in state.fields]


@router.put("/fields/{code}", response_model=FieldRead, dependencies=declarers)
def save_field(session: DbSession, code: Code, body: FieldWrite) -> FieldRead:
    f = service.save_field(
        session,
        code=code,
        name=body.name,
        polygon=body.polygon,
        capacity_m3=body.capacity_m3,
        kind=body.kind,
        hours=body.hours,
        lanes=body.lanes,
        initial_fill_m3=body.initial_fill_m3,
        event_id=body.event_id,
    )
    return field_read(f)


@router.put("/fields/{code}/state", response_model=FieldRead, dependencies=declarers)
def field_state(session: DbSession, code: Code, body: FieldStateWrite) -> FieldRead:
    """Open, close or mark full (a full or closed field is off the routing)."""
    return field_read(
        service.set_field_state(session, service.get_field(session, code), body.state)
    )


@router.post("/fields/{code}/surveys", response_model=SurveyRead, status_code=201)
def add_survey(session: DbSession, user: CurrentUser, code: Code, body: SurveyWrite) -> SurveyRead:
    """A manual survey of the field's fill: the fill starts again from it."""
    f = service.get_field(session, code)
    row = service.survey(
        session, f, fill_m3=body.fill_m3, at=_time(body.at, "at") or utcnow(), by=user.username
    )
    return SurveyRead(id=row.id, field=f.code, fill_m3=row.fill_m3, at=row.at, by=row.by)
