"""Vehicle tracks' JSON routes: the fleet registry (admin writes, staff reads)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, UploadFile

from civicgrid.auth.deps import require_roles
from civicgrid.kit.guard import BodyLimit
from civicgrid.kit.http import DbSession, RowId, binary_answer
from civicgrid.vehicles import (
    coverage,
    geofences,
    http_ingest,
    partitions,
    queries,
    reports,
    service,
)
from civicgrid.vehicles.exceptions import BadVehicle
from civicgrid.vehicles.models import Tracker, Vehicle, VehicleType
from civicgrid.vehicles.schemas import (
    CollectionPointCreate,
    CollectionPointRead,
    CoverageRead,
    GeofenceCreate,
    GeofenceEvent,
    GeofenceRead,
    IdleStretch,
    ImportRead,
    IngestRead,
    LivePosition,
    ReportRead,
    RoadCreate,
    RoadRead,
    TrackerCreate,
    TrackerRead,
    TrackRead,
    VehicleCreate,
    VehicleRead,
    VehicleTypeRead,
    VehicleTypeSave,
    VehicleUpdate,
)

# the periodic jobs register when imported (the app imports this module)
JOBS = (coverage.CHECK_JOB, partitions.PARTITION_JOB)
IMPORT_MAX_BYTES = 10 * 1024 * 1024
BODY_LIMITS = [
    BodyLimit("POST", re.compile(r"/api/v1/vehicles/import"), lambda: IMPORT_MAX_BYTES),
]
router = APIRouter(prefix="/api/v1/vehicles", tags=["vehicles"])
admin = [Depends(require_roles("admin"))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _type_read(kind: VehicleType) -> VehicleTypeRead:
    return VehicleTypeRead(
        code=kind.code,
        name=kind.name,
        work_speed_min=kind.work_speed_min,
        work_speed_max=kind.work_speed_max,
    )


def _vehicle_reads(session, found: list[Vehicle]) -> list[VehicleRead]:
    units = service.unit_codes_by_id(session, {v.org_unit_id for v in found})
    terminals: dict[int, list[str]] = {}
    for tracker in service.trackers(session, vehicle_ids=[v.id for v in found]):
        terminals.setdefault(tracker.vehicle_id, []).append(tracker.terminal_id)
    return [
        VehicleRead(
            id=v.id,
            plate=v.plate,
            type=v.type.code,
            type_name=v.type.name,
            unit=units[v.org_unit_id][0],
            unit_name=units[v.org_unit_id][1],
            capacity_m3=v.capacity_m3,
            note=v.note,
            active=v.active,
            terminals=terminals.get(v.id, []),
        )
        for v in found
    ]


def _tracker_read(tracker: Tracker, token: str | None = None) -> TrackerRead:
    return TrackerRead(
        id=tracker.id,
        terminal_id=tracker.terminal_id,
        protocol=tracker.protocol,
        vehicle_id=tracker.vehicle_id,
        plate=tracker.vehicle.plate if tracker.vehicle else None,
        person_id=tracker.person_id,
        active=tracker.active,
        last_fix_time=tracker.last_fix_time,
        token=token,
    )


@router.get("/types", response_model=list[VehicleTypeRead])
def list_types(session: DbSession) -> list[VehicleTypeRead]:
    """Vehicle types (垃圾车 洒水车 清扫车 ...) with their work speed range (min, max] km/h."""
    return [_type_read(t) for t in service.vehicle_types(session)]


@router.put("/types", response_model=VehicleTypeRead, dependencies=admin)
def save_type(body: VehicleTypeSave, session: DbSession) -> VehicleTypeRead:
    """Create a vehicle type, or change the fields given of an existing one."""
    kind = service.save_type(
        session,
        code=body.code,
        name=body.name,
        work_speed_min=body.work_speed_min,
        work_speed_max=body.work_speed_max,
    )
    return _type_read(kind)


@router.get("", response_model=list[VehicleRead])
def list_vehicles(
    session: DbSession, unit: str | None = None, type: str | None = None
) -> list[VehicleRead]:
    """The fleet, by plate; optionally one unit's or one type's vehicles."""
    return _vehicle_reads(session, service.vehicles(session, unit_code=unit, type_code=type))


@router.post("", response_model=VehicleRead, status_code=201, dependencies=admin)
def create_vehicle(body: VehicleCreate, session: DbSession) -> VehicleRead:
    vehicle = service.create_vehicle(
        session,
        plate=body.plate,
        type_code=body.type,
        unit_code=body.unit,
        capacity_m3=body.capacity_m3,
        note=body.note,
    )
    return _vehicle_reads(session, [vehicle])[0]


@router.get("/trackers", response_model=list[TrackerRead])
def list_trackers(session: DbSession) -> list[TrackerRead]:
    """Every tracker: terminals in vehicles and staff phones."""
    return [_tracker_read(t) for t in service.trackers(session)]


@router.post("/trackers", response_model=TrackerRead, status_code=201, dependencies=admin)
def create_tracker(body: TrackerCreate, session: DbSession) -> TrackerRead:
    """A tracker on a vehicle or carried by a person; an HTTP tracker's answer holds its device
    token, shown this once."""
    made = service.create_tracker(
        session,
        terminal_id=body.terminal_id,
        protocol=body.protocol,
        vehicle_id=body.vehicle_id,
        person_id=body.person_id,
    )
    return _tracker_read(made.tracker, made.token)


@router.post("/import", response_model=ImportRead, dependencies=admin)
def import_vehicles(session: DbSession, file: UploadFile) -> ImportRead:
    """Vehicles (and trackers) from an xlsx workbook, all or nothing; refused with every
    problem by row number."""
    result = service.import_xlsx(session, file.file.read())
    return ImportRead(vehicles=result.vehicles, trackers=result.trackers, tokens=result.tokens)


@router.get("/import/template.xlsx", response_class=Response, responses=binary_answer(XLSX))
def import_template() -> Response:
    return Response(
        service.import_template(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="vehicles-template.xlsx"'},
    )


@router.get("/live", response_model=list[LivePosition])
def live(session: DbSession) -> list[dict]:
    """The last position of every active tracker (plate, type, time, place, speed)."""
    out = []
    for item in queries.live_positions(session):
        out.append({**item, "time": item["time"].isoformat()})
    return out


Day = Annotated[str | None, Query(description="a local date, 2026-11-29", max_length=10)]
From = Annotated[str | None, Query(alias="from", max_length=40)]
To = Annotated[str | None, Query(alias="to", max_length=40)]


@router.get("/collection-points", response_model=list[CollectionPointRead])
def list_points(session: DbSession) -> list[CollectionPointRead]:
    """Collection points (垃圾收集点) with their rule and assigned vehicles."""
    return [_point_read(p) for p in coverage.points(session)]


def _point_read(point) -> CollectionPointRead:
    return CollectionPointRead(
        code=point.code,
        name=point.name,
        lon=point.lon,
        lat=point.lat,
        rule=point.rule,
        plates=[v.plate for v in point.vehicles],
    )


@router.post(
    "/collection-points", response_model=CollectionPointRead, status_code=201, dependencies=admin
)
def create_point(body: CollectionPointCreate, session: DbSession) -> CollectionPointRead:
    point = coverage.create_point(
        session,
        code=body.code,
        name=body.name,
        lon=body.lon,
        lat=body.lat,
        rule=body.rule,
        plates=body.plates,
    )
    return _point_read(point)


def _check_coordinates(pairs: list[list[float]]) -> None:
    """Every pair of a road's or a geofence's coordinates is [lon, lat] within WGS-84's range."""
    for pair in pairs:
        if len(pair) != 2 or not (-180 <= pair[0] <= 180 and -90 <= pair[1] <= 90):
            raise BadVehicle("坐标应为 [经度, 纬度]", "each coordinate is [lon, lat]")


@router.post("/roads", response_model=RoadRead, status_code=201, dependencies=admin)
def create_road(body: RoadCreate, session: DbSession) -> dict:
    """A road (LineString, WGS-84) assigned to a unit and to vehicle types."""
    _check_coordinates(body.coordinates)
    road = coverage.create_road(
        session,
        code=body.code,
        name=body.name,
        unit_code=body.unit,
        coordinates=body.coordinates,
        type_codes=body.types,
    )
    return {"code": road.code, "length_m": round(road.length_m, 1)}


@router.get("/geofences", response_model=list[GeofenceRead])
def list_geofences(session: DbSession) -> list[dict]:
    """Geofences (电子围栏): polygons, circles, buffered road lines."""
    return [geofences.described(f) for f in geofences.fences(session)]


@router.post("/geofences", response_model=GeofenceRead, status_code=201, dependencies=admin)
def create_geofence(body: GeofenceCreate, session: DbSession) -> dict:
    _check_coordinates(body.coordinates)
    fence = geofences.create(
        session,
        code=body.code,
        name=body.name,
        kind=body.kind,
        coordinates=body.coordinates,
        distance_m=body.distance_m,
    )
    return {"code": fence.code, "kind": fence.kind, "distance_m": fence.distance_m}


@router.get("/coverage", response_model=CoverageRead)
def unit_coverage(
    session: DbSession, unit: Annotated[str, Query(max_length=32)], day: Day = None
) -> dict:
    """Road coverage (道路作业覆盖率) of a unit on a local day: each assigned road's covered
    share by the unit's vehicles of its types, and the unit's Σ covered / Σ length."""
    return coverage.unit_coverage(session, unit, reports.period(day, None, None).start.date())


# Last: a path parameter would take the fixed paths above.
@router.get("/{vehicle_id}", response_model=VehicleRead)
def get_vehicle(vehicle_id: RowId, session: DbSession) -> VehicleRead:
    return _vehicle_reads(session, [service.get_vehicle(session, vehicle_id)])[0]


@router.patch("/{vehicle_id}", response_model=VehicleRead, dependencies=admin)
def update_vehicle(vehicle_id: RowId, body: VehicleUpdate, session: DbSession) -> VehicleRead:
    changes = body.model_dump(exclude_unset=True)
    renamed = {"type": "type_code", "unit": "unit_code"}
    changes = {renamed.get(k, k): v for k, v in changes.items()}
    vehicle = service.update_vehicle(session, service.get_vehicle(session, vehicle_id), **changes)
    return _vehicle_reads(session, [vehicle])[0]


@router.get("/{vehicle_id}/track", response_model=TrackRead)
def track(
    vehicle_id: RowId, session: DbSession, day: Day = None, start: From = None, end: To = None
) -> dict:
    """The fixes of a vehicle-day (or [from, to)) for playback: [epoch s, lon, lat, km/h,
    direction, alarm, backfill] each, WGS-84."""
    return reports.track(session, vehicle_id, reports.period(day, start, end))


@router.get("/{vehicle_id}/report", response_model=ReportRead)
def report(
    vehicle_id: RowId, session: DbSession, day: Day = None, start: From = None, end: To = None
) -> dict:
    """Trips, stops and the summary (distance, moving and parked time, max and average speed)
    of a vehicle over a day or [from, to), after shared/reference/trips.md."""
    return reports.report(session, vehicle_id, reports.period(day, start, end))


@router.get("/{vehicle_id}/report.xlsx", response_class=Response, responses=binary_answer(XLSX))
def report_xlsx(
    vehicle_id: RowId, session: DbSession, day: Day = None, start: From = None, end: To = None
) -> Response:
    data = reports.report(session, vehicle_id, reports.period(day, start, end))
    return Response(
        reports.xlsx(data),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="vehicle-report.xlsx"'},
    )


@router.get("/{vehicle_id}/coverage", response_model=CoverageRead)
def vehicle_coverage(vehicle_id: RowId, session: DbSession, day: Day = None) -> dict:
    """This vehicle's coverage of its unit's roads assigned to its type, on a local day."""
    when = reports.period(day, None, None)
    return coverage.vehicle_coverage(
        session, service.get_vehicle(session, vehicle_id), when.start.date()
    )


@router.get("/{vehicle_id}/geofence-events", response_model=list[GeofenceEvent])
def geofence_events(
    vehicle_id: RowId, session: DbSession, day: Day = None, start: From = None, end: To = None
) -> list[dict]:
    """The vehicle's enter and exit events of every geofence over a day or [from, to)."""
    when = reports.period(day, start, end)
    vehicle = service.get_vehicle(session, vehicle_id)
    return geofences.vehicle_events(session, reports.points(session, vehicle, when))


@router.get("/{vehicle_id}/idle", response_model=list[IdleStretch])
def idle(vehicle_id: RowId, session: DbSession, day: Day = None) -> list[dict]:
    """Idling (怠速/停驶) in working hours: ≥ 30 min within 20 m of the first fix."""
    when = reports.period(day, None, None)
    vehicle = service.get_vehicle(session, vehicle_id)
    fixes = reports.points(session, vehicle, when)
    return coverage.idle_stretches(fixes)


# --- positions over HTTP (devices, not people: no sign-in) ----------------------------------

INGEST_MAX_BYTES = 32 * 1024 * 1024
BODY_LIMITS.append(BodyLimit("POST", re.compile(r"/api/v1/gps/fixes"), lambda: INGEST_MAX_BYTES))
gps_router = APIRouter(prefix="/api/v1/gps", tags=["gps"])


def _stored(result) -> IngestRead:
    return IngestRead(received=result.received, stored=result.stored, dropped=result.dropped)


@gps_router.api_route("/osmand", methods=["GET", "POST"], response_model=IngestRead)
async def osmand(request: Request, session: DbSession) -> IngestRead:
    """The OsmAnd protocol (Traccar Client): `id`, `lat`, `lon`, `timestamp`, `speed` (knots),
    `bearing`, `altitude`, in the query or a form; or Traccar Client's JSON body
    (`device_id`, `location.timestamp`, `location.coords`, speed in m/s). The tracker is
    registered with protocol `osmand` and its id."""
    if "json" in request.headers.get("content-type", ""):
        return _stored(http_ingest.osmand_json(session, await request.body()))
    params = dict(request.query_params)
    if request.method == "POST":
        params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
    return _stored(http_ingest.osmand(session, params))


@gps_router.post("/fixes", response_model=IngestRead)
async def fixes(
    request: Request,
    session: DbSession,
    x_device_token: Annotated[str, Header(description="the tracker's device token")],
) -> IngestRead:
    """A batch of positions: a JSON array (or {"fixes": [...]}) or NDJSON, each with `time`
    (ISO 8601 with offset, or epoch seconds), `lat`, `lon`, and optionally `speed` (km/h),
    `direction`, `altitude`, `valid`. All or nothing; then the storage filters."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    return _stored(http_ingest.batch(session, x_device_token, body, content_type))
