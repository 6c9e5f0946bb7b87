"""Vehicle tracks' pages: the fleet (with the administrators' entry and import) and a
vehicle-day's playback."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicgrid.auth.deps import PageUser
from civicgrid.kit.db import utcnow
from civicgrid.kit.http import AppSettings, DbSession, RowId
from civicgrid.kit.timefmt import local_today
from civicgrid.vehicles import coverage, geofences, queries, reports, service
from civicgrid.web.i18n import page_words
from civicgrid.web.layout import render

router = APIRouter(include_in_schema=False)

# This domain's words are web.i18n's "vehicles_*" (one place for every page word).
PREFIX = "vehicles_"


def words(request: Request) -> dict[str, str]:
    """The vehicles' words in the page's language, without their prefix (templates and
    scripts ask w.title, words.play)."""
    return page_words(request, PREFIX)


def _age(w: dict[str, str], when: dt.datetime | None, now: dt.datetime) -> str:
    if when is None:
        return w["never"]
    minutes = max(0, int((now - when).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} {w['ago_min']}"
    if minutes < 1440:
        return f"{minutes // 60} {w['ago_hour']}"
    return f"{minutes // 1440} {w['ago_day']}"


@router.get("/vehicles", response_class=HTMLResponse)
def fleet(request: Request, session: DbSession, user: PageUser) -> HTMLResponse:
    """The fleet with each vehicle's last fix; administrators register and import here."""
    w = words(request)
    found = service.vehicles(session)
    units = service.unit_codes_by_id(session, {v.org_unit_id for v in found})
    last: dict[int, dt.datetime] = {}
    for item in queries.live_positions(session):
        if item["vehicle_id"] and (
            item["vehicle_id"] not in last or item["time"] > last[item["vehicle_id"]]
        ):
            last[item["vehicle_id"]] = item["time"]
    now = utcnow()
    rows = [
        {
            "id": v.id,
            "plate": v.plate,
            "type": v.type.name,
            "unit": units[v.org_unit_id][1],
            "capacity": v.capacity_m3,
            "last_seen": _age(w, last.get(v.id), now),
        }
        for v in found
    ]
    today = local_today(now).isoformat()
    return render(
        request,
        "vehicles.html",
        user,
        w=w,
        rows=rows,
        today=today,
        is_admin=user.has_role("admin"),
        types=service.vehicle_types(session),
    )


@router.get("/vehicles/{vehicle_id}/playback", response_class=HTMLResponse)
def playback(
    request: Request,
    session: DbSession,
    user: PageUser,
    settings: AppSettings,
    vehicle_id: RowId,
    day: str | None = None,
) -> HTMLResponse:
    """A vehicle-day on the map: track, stops, trips, summary and play at 1×–20×."""
    vehicle = service.get_vehicle(session, vehicle_id)
    day = day or local_today().isoformat()
    reports.period(day, None, None)  # a bad day is a 400 here, not in the script
    return render(
        request,
        "playback.html",
        user,
        w=words(request),
        vehicle=vehicle,
        day=day,
        data={
            "vehicle": vehicle.id,
            "day": day,
            "tiles": settings.tile_url,
            "datum": settings.tile_datum,
            "words": words(request),
        },
    )


@router.get("/vehicles/coverage", response_class=HTMLResponse)
def coverage_day(
    request: Request,
    session: DbSession,
    user: PageUser,
    settings: AppSettings,
    unit: str | None = None,
    day: str | None = None,
) -> HTMLResponse:
    """A unit's day of sanitation work: each road's coverage, each collection point served,
    missed or not yet due, and the geofences, on a map and in tables."""
    w = words(request)
    now = utcnow()
    day = day or local_today(now).isoformat()
    the_day = reports.period(day, None, None).start.date()  # a bad day is a 400
    units = coverage.units_with_work(session)
    unit = unit or (units[0][0] if units else None)
    roads = coverage.unit_coverage(session, unit, the_day) if unit else None
    states = coverage.point_states(session, unit, the_day, now) if unit else []
    fences = [geofences.described(f) for f in geofences.fences(session)]
    return render(
        request,
        "coverage.html",
        user,
        w=w,
        units=units,
        unit=unit,
        day=day,
        roads=roads,
        points=states,
        fences=fences,
        data={
            "tiles": settings.tile_url,
            "datum": settings.tile_datum,
            "roads": coverage.road_lines(session, unit) if unit else {},
            "coverage": {r["code"]: r["coverage"] for r in (roads or {}).get("roads", [])},
            "points": states,
            "fences": fences,
            "words": w,
        },
    )
