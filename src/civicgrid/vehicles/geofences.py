"""Geofences (电子围栏): polygons, circles and buffered road lines; a vehicle's enter and exit
events over a period, from its fixes (first fix inside after one outside: enter; first fix
outside after one inside: exit). Distances in UTM zone 52N, as coverage.md measures."""

from __future__ import annotations

from shapely import LineString, Polygon, contains_xy, prepare
from shapely import Point as ShapelyPoint
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.config import get_settings
from civicgrid.kit.timefmt import local_zone
from civicgrid.vehicles.coverage import project
from civicgrid.vehicles.exceptions import BadVehicle, Exists
from civicgrid.vehicles.models import GEOFENCE_KINDS, Geofence
from civicgrid.vehicles.motion import Point


def create(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    coordinates: list[list[float]],
    distance_m: float | None = None,
) -> Geofence:
    """A geofence; a line's buffer defaults to 20 m, a circle needs its radius."""
    if kind not in GEOFENCE_KINDS:
        raise BadVehicle(
            f"围栏类型 {kind} 无效, 应为 {', '.join(GEOFENCE_KINDS)}",
            f"unknown geofence kind {kind}; use one of {', '.join(GEOFENCE_KINDS)}",
        )
    need = {"polygon": 3, "circle": 1, "line": 2}[kind]
    if len(coordinates) < need or (kind == "circle" and len(coordinates) != 1):
        raise BadVehicle(
            f"{kind} 的坐标个数不对",
            f"a {kind} needs {'one' if kind == 'circle' else need}+ points",
        )
    if kind == "circle" and not distance_m:
        raise BadVehicle("圆形围栏须给出半径", "a circle needs its radius (distance_m)")
    if kind == "line" and distance_m is None:
        distance_m = get_settings().coverage_road_buffer_m
    if session.scalar(select(Geofence.id).where(Geofence.code == code)):
        raise Exists(f"围栏 {code} 已存在", f"geofence {code} exists")
    fence = Geofence(
        code=code,
        name=name,
        kind=kind,
        coordinates=[[c[0], c[1]] for c in coordinates],
        distance_m=distance_m,
    )
    if not _shape(fence).is_valid:
        raise BadVehicle(
            "围栏图形无效 (自相交?)", "the geofence's shape is not valid (self-crossing?)"
        )
    session.add(fence)
    session.flush()
    return fence


def _shape(fence: Geofence):
    xy = project([(c[0], c[1]) for c in fence.coordinates])
    if fence.kind == "polygon":
        return Polygon(xy)
    if fence.kind == "circle":
        return ShapelyPoint(xy[0]).buffer(fence.distance_m, quad_segs=32)
    return LineString(xy).buffer(fence.distance_m)


def described(fence: Geofence) -> dict:
    """A geofence as the API and the coverage page give it."""
    return {
        "code": fence.code,
        "name": fence.name,
        "kind": fence.kind,
        "coordinates": fence.coordinates,
        "distance_m": fence.distance_m,
    }


def fences(session: Session) -> list[Geofence]:
    return list(session.scalars(select(Geofence).order_by(Geofence.code)))


def events(fixes: list[Point], fence_list: list[Geofence]) -> list[dict]:
    """Enter and exit events of these fixes (time order) for each geofence, by time."""
    if not fixes:
        return []
    xy = project([(f.lon, f.lat) for f in fixes])
    zone = local_zone()
    out = []
    for fence in fence_list:
        shape = _shape(fence)
        prepare(shape)
        inside = contains_xy(shape, [p[0] for p in xy], [p[1] for p in xy])
        was = None
        for fix, now in zip(fixes, inside.tolist(), strict=True):
            if was is not None and now != was:
                out.append(
                    {
                        "geofence": fence.code,
                        "name": fence.name,
                        "event": "enter" if now else "exit",
                        "time": fix.time.astimezone(zone).isoformat(),
                        "lon": fix.lon,
                        "lat": fix.lat,
                    }
                )
            was = now
    out.sort(key=lambda e: (e["time"], e["geofence"]))
    return out


def vehicle_events(session: Session, fixes: list[Point]) -> list[dict]:
    return events(fixes, fences(session))
