"""Spot checks' JSON routes: sheets and sites (admin), plans (admin, dispatcher), the
inspectors' checks (supervisors), results for staff, and the published draws for anyone."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from fastapi.responses import PlainTextResponse

from civicgrid.auth.deps import CurrentUser, require_roles
from civicgrid.kit.http import AppSettings, DbSession, RowId, binary_answer
from civicgrid.spotchecks import queries, service
from civicgrid.spotchecks.schemas import (
    Arrival,
    CheckRead,
    Entries,
    PlanCreate,
    PlanPublic,
    ResultRow,
    SheetDefinition,
    SiteRead,
    SiteSave,
    Weather,
)

router = APIRouter(prefix="/api/v1/spotchecks", tags=["spotchecks"])
public_router = APIRouter(prefix="/api/v1/spotchecks/public", tags=["spotchecks"])
admin = [Depends(require_roles("admin"))]
planners = [Depends(require_roles("admin", "dispatcher"))]
INSPECTORS = ("supervisor", "dispatcher", "admin")
inspectors = [Depends(require_roles(*INSPECTORS))]
readers = [Depends(require_roles("admin", "leader", "dispatcher", "supervisor"))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERIOD = Query(pattern=r"^\d{4}-(W\d{2}|\d{2})$", description="YYYY-Www or YYYY-MM")


@public_router.get("/plans", response_model=list[PlanPublic])
def public_plans(session: DbSession) -> list[PlanPublic]:
    """Every plan's commitment (SHA-256 of its seed), and its seed once the period has ended."""
    return [PlanPublic(**service.public_plan(p)) for p in queries.plans(session)]


@public_router.get("/plans/{code}", response_model=PlanPublic)
def public_plan(code: str, session: DbSession) -> PlanPublic:
    return PlanPublic(**service.public_plan(service.get_plan(session, code)))


@public_router.get(
    "/plans/{code}/draw.txt",
    response_class=PlainTextResponse,
    responses=binary_answer("text/plain", description="the draw's published form"),
)
def public_draw(code: str, session: DbSession) -> PlainTextResponse:
    """The drawn list as `civicgrid spotcheck draw` prints it, once the period has ended (409
    before: the seed is not published yet)."""
    return PlainTextResponse(service.published_draw(session, service.get_plan(session, code)))


@router.get("/sheets", response_model=list[SheetDefinition], dependencies=readers)
def list_sheets(session: DbSession) -> list[dict]:
    """The shipped sheets (CJJ/T 126 visual, 以克论净) and the district's own."""
    return service.all_sheets(session)


@router.put("/sheets", response_model=SheetDefinition, dependencies=admin)
def save_sheet(body: SheetDefinition, session: DbSession) -> dict:
    """Add or change a district's own sheet (门前三包, 公厕 ...)."""
    return service.save_sheet(session, body.model_dump(mode="json"))


def _site_read(session, site) -> SiteRead:
    names = service.unit_codes(session, {site.street_id, site.unit_id, site.contractor_id})
    return SiteRead(
        code=site.code,
        name=site.name,
        kind=site.kind,
        grade=site.grade,
        street=names[site.street_id][0],
        unit=names[site.unit_id][0] if site.unit_id else None,
        contractor=names[site.contractor_id][0] if site.contractor_id else None,
        lon=site.lon,
        lat=site.lat,
        active=site.active,
    )


@router.get("/sites", response_model=list[SiteRead], dependencies=readers)
def list_sites(session: DbSession) -> list[SiteRead]:
    return [_site_read(session, s) for s in queries.sites(session)]


@router.put("/sites", response_model=SiteRead, dependencies=admin)
def save_site(body: SiteSave, session: DbSession) -> SiteRead:
    """Add or change a road (or grid) that can be drawn."""
    return _site_read(session, service.save_site(session, **body.model_dump()))


@router.post("/plans", response_model=PlanPublic, status_code=201)
def create_plan(
    body: PlanCreate,
    session: DbSession,
    settings: AppSettings,
    user: Annotated[object, Depends(require_roles("admin", "dispatcher"))],
) -> PlanPublic:
    """Make a plan: the seed is drawn and only its commitment published; the checks are drawn
    now (civicgrid-draw-v1) and shown to the inspectors day by day."""
    plan = service.create_plan(
        session,
        settings,
        code=body.code,
        sheet_code=body.sheet,
        period=body.period,
        strata=[s.model_dump() for s in body.strata] if body.strata is not None else None,
        n=body.n,
        slots=body.slots,
        by=user.username,
    )
    return PlanPublic(**service.public_plan(plan))


@router.get("/plans/{code}/checks", response_model=list[CheckRead], dependencies=planners)
def plan_checks(code: str, session: DbSession) -> list[CheckRead]:
    plan = service.get_plan(session, code)
    return [CheckRead(**service.view(session, c)) for c in queries.checks_of_plan(session, plan.id)]


@router.get("/checks", response_model=list[CheckRead], dependencies=inspectors)
def day_checks(
    session: DbSession,
    settings: AppSettings,
    day: Annotated[dt.date | None, Query(description="default: today")] = None,
) -> list[CheckRead]:
    """The day's checks, by slot."""
    _day, found = service.checks_today(session, settings, day)
    return [CheckRead(**service.view(session, c)) for c in found]


@router.get("/checks/{check_id}", response_model=CheckRead, dependencies=inspectors)
def get_check(check_id: RowId, session: DbSession) -> CheckRead:
    return CheckRead(**service.view(session, service.get_check(session, check_id)))


@router.post("/checks/{check_id}/arrival", response_model=CheckRead, dependencies=inspectors)
def arrive(check_id: RowId, body: Arrival, session: DbSession) -> CheckRead:
    """Record the arrival's position (WGS-84) and time (the phone's, or now), once."""
    check = service.arrive(
        session, service.get_check(session, check_id), lon=body.lon, lat=body.lat, at=body.at
    )
    return CheckRead(**service.view(session, check))


@router.put("/checks/{check_id}/weather", response_model=CheckRead, dependencies=inspectors)
def weather(check_id: RowId, body: Weather, session: DbSession) -> CheckRead:
    """The weather; a CJJ/T 126 check on a wet day is refused (422)."""
    check = service.set_weather(session, service.get_check(session, check_id), body.model_dump())
    return CheckRead(**service.view(session, check))


@router.put("/checks/{check_id}/entries", response_model=CheckRead)
def entries(
    check_id: RowId,
    body: Entries,
    session: DbSession,
    user: Annotated[object, Depends(require_roles(*INSPECTORS))],
) -> CheckRead:
    """Save what the signed-in inspector entered so far (merged; a partial sheet is kept)."""
    data = body.sides if body.sides is not None else {"points": body.points or []}
    check = service.save_entries(session, service.get_check(session, check_id), user.username, data)
    return CheckRead(**service.view(session, check))


@router.post(
    "/checks/{check_id}/photos", response_model=CheckRead, status_code=201, dependencies=inspectors
)
def photo(
    check_id: RowId,
    session: DbSession,
    settings: AppSettings,
    item: Annotated[str, Form(max_length=32)],
    photo: Annotated[UploadFile, File()],
) -> CheckRead:
    """A photo of an item (JPEG, PNG or WebP, checked and re-encoded)."""
    data = photo.file.read(settings.photo_max_bytes + 1)
    check = service.get_check(session, check_id)
    service.add_photo(session, settings, check, item, photo.filename or "photo", data)
    return CheckRead(**service.view(session, check))


@router.post("/checks/{check_id}/finish", response_model=CheckRead)
def finish(
    check_id: RowId,
    session: DbSession,
    settings: AppSettings,
    user: CurrentUser,
    _allowed: Annotated[object, Depends(require_roles(*INSPECTORS))],
) -> CheckRead:
    """Close the check: its result, and one case per failed item (source spotcheck)."""
    check = service.finish(session, settings, service.get_check(session, check_id), user.username)
    return CheckRead(**service.view(session, check))


@router.get("/results", response_model=list[ResultRow], dependencies=readers)
def results(
    session: DbSession,
    period: Annotated[str, PERIOD],
    by: Annotated[str, Query(pattern="^(road|street|unit|contractor)$")] = "road",
) -> list[dict]:
    """Per road, street, unit or contractor: score, g/m², pass rate, rank, grade, trend."""
    return service.results(session, period, by)


@router.get(
    "/bulletin.xlsx",
    response_class=Response,
    responses=binary_answer(XLSX),
    dependencies=readers,
)
def bulletin(session: DbSession, period: Annotated[str, PERIOD]) -> Response:
    """The period's bulletin: one sheet per road, street, unit and contractor."""
    return Response(
        service.bulletin_xlsx(session, period),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="spotchecks-{period}.xlsx"'},
    )
