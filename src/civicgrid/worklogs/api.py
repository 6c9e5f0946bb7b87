"""Work logs' JSON routes: the author's day (draft, lines, photos, submit), the leader's review,
who has not submitted, and the monthly export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile
from sqlalchemy.orm import Session

from civicgrid.auth.deps import CurrentUser, require_roles
from civicgrid.kit.http import (
    PRIVATE_PHOTO,
    AppSettings,
    DbSession,
    RowId,
    binary_answer,
    stored_file,
)
from civicgrid.kit.timefmt import local_zone
from civicgrid.org import queries as org_queries
from civicgrid.worklogs import queries, service
from civicgrid.worklogs.exceptions import LogNotFound
from civicgrid.worklogs.models import WorkLog, WorkLogEntry
from civicgrid.worklogs.schemas import (
    EntryRead,
    EntryWrite,
    EventRead,
    LogRead,
    LogSummary,
    MissingUnit,
    PhotoRead,
    ReviewWrite,
    RouteRead,
)

router = APIRouter(prefix="/api/v1/worklogs", tags=["worklogs"])
leaders = [Depends(require_roles("leader", "admin"))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DayText = Annotated[str, Query(max_length=10, description="a local day, 2026-11-30")]
UnitText = Annotated[str | None, Query(max_length=32, description="an org unit's code")]


def entry_read(log: WorkLog, entry: WorkLogEntry) -> EntryRead:
    base = f"/api/v1/worklogs/{log.id}/photos"
    return EntryRead(
        id=entry.id,
        seq=entry.seq,
        at=entry.at,
        lon=entry.lon,
        lat=entry.lat,
        text=entry.text,
        case_code=entry.case_code,
        source=entry.source,
        amendment=entry.amendment,
        corrects=entry.corrects,
        created_at=entry.created_at,
        created_by=entry.created_by,
        edited_at=entry.edited_at,
        photos=[
            PhotoRead(id=p.id, url=f"{base}/{p.id}", thumb_url=f"{base}/{p.id}?thumb=true")
            for p in entry.photos
        ],
    )


def log_read(session: Session, user, log: WorkLog) -> LogRead:
    unit = org_queries.code_names_by_id(session, [log.unit_id])[log.unit_id]
    name = org_queries.person_names_by_id(session, [log.person_id]).get(log.person_id, "")
    return LogRead(
        id=log.id,
        person_id=log.person_id,
        person_name=name,
        day=log.day,
        unit=unit[0],
        unit_name=unit[1],
        state=log.state,
        distance_m=log.distance_m,
        submitted_at=log.submitted_at,
        reviewed_at=log.reviewed_at,
        reviewed_by=log.reviewed_by,
        review_comment=log.review_comment,
        entries=[entry_read(log, e) for e in log.entries],
        history=[
            EventRead(at=e.at, action=e.action, by=e.by, comment=e.comment)
            for e in queries.history(session, log.id)
        ],
        may_write=service.is_author(user, log) and log.state != "approved",
        may_review=service.may_review(session, user, log) and log.state == "submitted",
    )


def _entry_in(body: EntryWrite) -> service.EntryIn:
    at = body.at if body.at.tzinfo else body.at.replace(tzinfo=local_zone())
    return service.EntryIn(
        at=at,
        text=body.text,
        lon=body.lon,
        lat=body.lat,
        case_code=body.case_code,
        corrects=body.corrects,
    )


@router.get("/missing", response_model=list[MissingUnit], dependencies=leaders)
def missing(
    session: DbSession,
    settings: AppSettings,
    user: CurrentUser,
    day: DayText,
    unit: UnitText = None,
) -> list[dict]:
    """Per unit (within the leader's scope, or the unit given with its sub-units), the people
    whose log of the day is not submitted: none, a draft, or returned and not submitted again."""
    return service.not_submitted(session, settings, user, service.parse_day(day), unit)


@router.get("/review", response_model=list[LogSummary], dependencies=leaders)
def review_list(
    session: DbSession, user: CurrentUser, day: DayText, unit: UnitText = None
) -> list[LogSummary]:
    """The logs of the day in the leader's units, with their state."""
    logs = service.to_review(session, user, service.parse_day(day), unit)
    names = org_queries.person_names_by_id(session, {log.person_id for log in logs})
    units = org_queries.code_names_by_id(session, {log.unit_id for log in logs})
    return [
        LogSummary(
            id=log.id,
            person_id=log.person_id,
            person_name=names.get(log.person_id, ""),
            unit=units[log.unit_id][0],
            day=log.day,
            state=log.state,
            entries=len(log.entries),
        )
        for log in logs
    ]


@router.get("/export.xlsx", response_class=Response, responses=binary_answer(XLSX))
def export(
    session: DbSession,
    user: CurrentUser,
    month: Annotated[str, Query(max_length=7, description="2026-11")],
    person: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    unit: UnitText = None,
) -> Response:
    """A month of logs of one person (their own, or as their leader) or of one unit, as xlsx
    with Chinese headers."""
    whose, logs, names, units = service.month_rows(
        session, user, month, person_id=person, unit_code=unit
    )
    data = service.xlsx(whose, month, service.export_lines(logs, names, units))
    which = f"person-{person}" if person else f"unit-{unit}"
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="worklogs-{month}-{which}.xlsx"'},
    )


@router.post("/mine/{day}", response_model=LogRead)
def mine(session: DbSession, user: CurrentUser, day: str) -> LogRead:
    """The signed-in person's log of the day: begun from what the platform knows (their case
    actions, their tracked route) if there is none, and while it is a draft, brought up to
    date with the lines not in it yet."""
    log = service.write_draft(session, user, service.parse_day(day))
    return log_read(session, user, log)


@router.get("/{log_id}", response_model=LogRead)
def get_log(session: DbSession, user: CurrentUser, log_id: RowId) -> LogRead:
    return log_read(session, user, service.readable_log(session, user, log_id))


@router.get("/{log_id}/route", response_model=RouteRead)
def route(session: DbSession, user: CurrentUser, log_id: RowId) -> RouteRead:
    """The author's tracked route of the log's day (where their phone is a tracker)."""
    log = service.readable_log(session, user, log_id)
    points, total = service.route_of(session, log.person_id, log.day)
    return RouteRead(
        distance_m=round(total, 1),
        points=[{"time": p.time, "lon": p.lon, "lat": p.lat} for p in points],
    )


@router.post("/{log_id}/entries", response_model=EntryRead, status_code=201)
def add_entry(
    session: DbSession, settings: AppSettings, user: CurrentUser, log_id: RowId, body: EntryWrite
) -> EntryRead:
    """A line added by the author: after the first submission, an amendment (recorded)."""
    log = service.readable_log(session, user, log_id)
    entry = service.add_entry(session, settings, user, log, _entry_in(body))
    return entry_read(log, entry)


@router.put("/{log_id}/entries/{entry_id}", response_model=EntryRead)
def edit_entry(
    session: DbSession,
    settings: AppSettings,
    user: CurrentUser,
    log_id: RowId,
    entry_id: RowId,
    body: EntryWrite,
) -> EntryRead:
    """Change a line of a draft (409 once the log was submitted: it is only amended then)."""
    log = service.readable_log(session, user, log_id)
    entry = service.edit_entry(session, settings, user, log, entry_id, _entry_in(body))
    return entry_read(log, entry)


@router.delete("/{log_id}/entries/{entry_id}", status_code=204, response_class=Response)
def remove_entry(
    session: DbSession, settings: AppSettings, user: CurrentUser, log_id: RowId, entry_id: RowId
) -> Response:
    """Remove a line of a draft (409 once the log was submitted)."""
    log = service.readable_log(session, user, log_id)
    service.remove_entry(session, settings, user, log, entry_id)
    return Response(status_code=204)


@router.post("/{log_id}/entries/{entry_id}/photos", response_model=list[PhotoRead])
def add_photos(
    session: DbSession,
    settings: AppSettings,
    user: CurrentUser,
    log_id: RowId,
    entry_id: RowId,
    photos: Annotated[list[UploadFile], File()],
) -> list[PhotoRead]:
    """Photos of a line (multipart `photos`): checked and re-encoded like every photo."""
    log = service.readable_log(session, user, log_id)
    files = [(f.filename or "photo", f.file.read(settings.photo_max_bytes + 1)) for f in photos]
    found = service.add_photos(session, settings, user, log, entry_id, files)
    base = f"/api/v1/worklogs/{log.id}/photos"
    return [
        PhotoRead(id=p.id, url=f"{base}/{p.id}", thumb_url=f"{base}/{p.id}?thumb=true")
        for p in found
    ]


@router.get(
    "/{log_id}/photos/{photo_id}",
    response_class=Response,
    responses=binary_answer("image/jpeg", description="the photo"),
)
def photo(
    session: DbSession,
    settings: AppSettings,
    user: CurrentUser,
    log_id: RowId,
    photo_id: RowId,
    thumb: bool = False,
) -> Response:
    log = service.readable_log(session, user, log_id)
    found = queries.photo(session, log.id, photo_id)
    if found is None:
        raise LogNotFound(f"{log_id}/photos/{photo_id}")
    return stored_file(settings, found.thumb_key if thumb else found.key, cache=PRIVATE_PHOTO)


@router.post("/{log_id}/submit", response_model=LogRead)
def submit(session: DbSession, user: CurrentUser, log_id: RowId) -> LogRead:
    """The author submits the log (a draft, or a returned log after its amendments)."""
    log = service.readable_log(session, user, log_id)
    return log_read(session, user, service.submit(session, user, log))


@router.post("/{log_id}/review", response_model=LogRead)
def review(session: DbSession, user: CurrentUser, log_id: RowId, body: ReviewWrite) -> LogRead:
    """A leader of the log's unit approves it, or returns it with a comment."""
    log = service.readable_log(session, user, log_id)
    log = service.review(session, user, log, decision=body.decision, comment=body.comment)
    return log_read(session, user, log)
