"""Vehicle tracks' pages: the fleet (with the administrators' entry and import) and a
vehicle-day's playback."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from civicgrid.auth.deps import PageUser
from civicgrid.kit.db import utcnow
from civicgrid.kit.errors import Forbidden, NotFound
from civicgrid.kit.http import AppSettings, DbSession, RowId
from civicgrid.kit.timefmt import local_today
from civicgrid.org import service as org_service
from civicgrid.vehicles import coverage, geofences, places, queries, reports, service
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


# --- the administrators' places: collection points, roads, geofences ---------------------------

KindPath = Annotated[str, Path(pattern="^(point|road|geofence)$")]
CodePath = Annotated[str, Path(max_length=places.CODE_MAX)]


def _admin(user) -> None:
    if not user.has_role("admin"):
        raise Forbidden("仅管理员可编辑收集点、道路与围栏", "administrators only")


@router.get("/vehicles/places", response_class=HTMLResponse)
def places_page(
    request: Request, session: DbSession, user: PageUser, settings: AppSettings
) -> HTMLResponse:
    """Collection points, roads and geofences: each listed, administrators add, edit and
    delete them (the forms draw on the map or take pasted GeoJSON)."""
    w = words(request)
    units = service.unit_codes_by_id(session, {r.org_unit_id for r in places.roads(session)})
    roads = [
        {
            "code": r.code,
            "name": r.name,
            "unit": units.get(r.org_unit_id, ("", ""))[1],
            "length_m": r.length_m,
            "types": [t.name for t in r.types],
        }
        for r in places.roads(session)
    ]
    points = coverage.points(session)
    fences = [geofences.described(f) for f in geofences.fences(session)]
    return render(
        request,
        "places.html",
        user,
        w=w,
        points=points,
        roads=roads,
        fences=fences,
        is_admin=user.has_role("admin"),
        done=request.query_params.get("done", "")[:20],
        data={
            "tiles": settings.tile_url,
            "datum": settings.tile_datum,
            "words": w,
            "points": [{"name": p.name, "lon": p.lon, "lat": p.lat} for p in points],
            "roads": {r.code: r.coordinates for r in places.roads(session)},
            "fences": fences,
        },
    )


def _form(
    request: Request,
    session: DbSession,
    user,
    settings,
    kind: str,
    checked: places.Checked | None,
    editing=None,
    status: int = 200,
) -> HTMLResponse:
    w = words(request)
    if checked is None:
        values: dict = {}
        if editing is not None:
            values = {"code": editing.code, "name": editing.name}
            values["geometry"] = places.as_geojson(kind, editing)
            if kind == "point":
                values |= {
                    "rule": editing.rule,
                    "plates": ", ".join(v.plate for v in editing.vehicles),
                }
            elif kind == "road":
                unit = service.unit_codes_by_id(session, {editing.org_unit_id})
                values |= {
                    "unit": unit[editing.org_unit_id][0],
                    "types": [t.code for t in editing.types],
                }
            else:
                values |= {"kind": editing.kind, "distance_m": editing.distance_m or ""}
        checked = places.Checked(values=values)
    errors = {name: w.get(key, key) for name, key in checked.errors.items()}
    if "plates" in errors:
        errors["plates"] += ": " + checked.values.get("unknown_plates", "")
    response = render(
        request,
        "place_form.html",
        user,
        w=w,
        kind=kind,
        editing=editing,
        v=checked.values,
        errors=errors,
        rules=[(r, w[f"rule_label_{i}"]) for i, r in enumerate(places.RULES)],
        fence_kinds=places.GEOFENCE_KINDS,
        types=service.vehicle_types(session),
        units=[(u.code, u.name) for u in org_service.units(session)],
        data={
            "tiles": settings.tile_url,
            "datum": settings.tile_datum,
            "words": w,
            "kind": kind,
            "buffer": settings.coverage_road_buffer_m,
            # the other places, drawn faintly for orientation (a map may have no tiles)
            "context": _context(session, kind, editing),
        },
    )
    response.status_code = status
    return response


def _context(session, kind: str, editing) -> dict:
    skip = editing.code if editing is not None else None
    return {
        "points": [
            {"name": p.name, "lon": p.lon, "lat": p.lat}
            for p in coverage.points(session)
            if not (kind == "point" and p.code == skip)
        ],
        "roads": {
            r.code: r.coordinates
            for r in places.roads(session)
            if not (kind == "road" and r.code == skip)
        },
        "fences": [
            geofences.described(f)
            for f in geofences.fences(session)
            if not (kind == "geofence" and f.code == skip)
        ],
    }


@router.get("/vehicles/places/{kind}/new", response_class=HTMLResponse)
def new_place(
    request: Request, session: DbSession, user: PageUser, settings: AppSettings, kind: KindPath
) -> HTMLResponse:
    _admin(user)
    return _form(request, session, user, settings, kind, None)


@router.get("/vehicles/places/{kind}/{code}/edit", response_class=HTMLResponse)
def edit_place(
    request: Request,
    session: DbSession,
    user: PageUser,
    settings: AppSettings,
    kind: KindPath,
    code: CodePath,
) -> HTMLResponse:
    _admin(user)
    return _form(request, session, user, settings, kind, None, _found(session, kind, code))


def _found(session, kind: str, code: str):
    place = places.find(session, kind, code)
    if place is None:
        raise NotFound(f"找不到 {code}", f"{code} not found")
    return place


async def _values(request: Request) -> dict:
    form = await request.form()
    values = {k: str(form.get(k, ""))[: places.GEOJSON_MAX + 1] for k in places.FORM_FIELDS}
    values["types"] = [str(t)[:40] for t in form.getlist("types")][:50]
    return values


@router.post("/vehicles/places/{kind}/new", response_class=HTMLResponse)
async def create_place(
    request: Request, session: DbSession, user: PageUser, settings: AppSettings, kind: KindPath
) -> Response:
    _admin(user)
    checked = places.check(session, kind, await _values(request))
    if not checked.ok:
        return _form(request, session, user, settings, kind, checked, status=400)
    places.save(session, kind, checked)
    return RedirectResponse(f"/vehicles/places?done=saved#{kind}s", status_code=303)


@router.post("/vehicles/places/{kind}/{code}/edit", response_class=HTMLResponse)
async def update_place(
    request: Request,
    session: DbSession,
    user: PageUser,
    settings: AppSettings,
    kind: KindPath,
    code: CodePath,
) -> Response:
    _admin(user)
    place = _found(session, kind, code)
    checked = places.check(session, kind, await _values(request), place)
    if not checked.ok:
        return _form(request, session, user, settings, kind, checked, place, status=400)
    places.save(session, kind, checked, place)
    return RedirectResponse(f"/vehicles/places?done=saved#{kind}s", status_code=303)


@router.post("/vehicles/places/{kind}/{code}/delete")
def delete_place(
    session: DbSession, user: PageUser, kind: KindPath, code: CodePath
) -> RedirectResponse:
    _admin(user)
    outcome = places.remove(session, kind, _found(session, kind, code))
    return RedirectResponse(f"/vehicles/places?done={outcome}#{kind}s", status_code=303)
