"""Sanitation coverage from tracks (日产即清 · 夜产晨清 · 道路作业覆盖率), after
shared/reference/coverage.md: distances in metres in UTM zone 52N (EPSG:32652), fixes WGS-84,
days and windows in local time (Asia/Shanghai)."""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from functools import lru_cache

import shapely
from pyproj import Transformer
from shapely import LineString
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.cases.policy import Actor
from civicgrid.citizen import service as citizen_service
from civicgrid.config import Settings, get_settings
from civicgrid.kit import scheduler
from civicgrid.kit.db import utcnow
from civicgrid.kit.timefmt import local_zone
from civicgrid.org import queries as org_queries
from civicgrid.vehicles import queries, service
from civicgrid.vehicles.exceptions import BadVehicle, Exists
from civicgrid.vehicles.models import (
    RULES,
    CollectionCheck,
    CollectionPoint,
    Road,
    Vehicle,
)
from civicgrid.vehicles.motion import Point as Fix

log = logging.getLogger(__name__)

# The contract's numbers are settings (coverage_*, config.py): segment gap 60 s, road buffer
# 20 m, visit 60 s within 30 m, idle 30 min within 20 m, a missed point's case category 06042.


@lru_cache(maxsize=1)
def _utm() -> Transformer:
    return Transformer.from_crs(4326, 32652, always_xy=True)


def project(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(lon, lat) WGS-84 → (x, y) metres in UTM zone 52N."""
    if not points:
        return []
    xs, ys = _utm().transform([p[0] for p in points], [p[1] for p in points])
    return list(zip(xs, ys, strict=True))


# --- collection points ----------------------------------------------------------------------


def window(rule: str, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The window of `rule` for day D: 日产即清 [D 00:00, D+1 00:00); 夜产晨清 [D−1 20:00,
    D 06:00), local time."""
    zone = local_zone()
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    if rule == "日产即清":
        return midnight, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    if rule == "夜产晨清":
        return (
            dt.datetime.combine(day - dt.timedelta(days=1), dt.time(20), tzinfo=zone),
            dt.datetime.combine(day, dt.time(6), tzinfo=zone),
        )
    raise BadVehicle(f"规则 {rule} 无效, 应为 {' '.join(RULES)}", f"unknown rule {rule}")


def visits(
    fixes: list[Fix], lon: float, lat: float, settings: Settings | None = None
) -> list[dt.datetime]:
    """The visits of one vehicle's fixes (time order) to a point: runs of consecutive fixes each
    within coverage_visit_radius_m, first to last lasting ≥ coverage_visit_min_s; each visit's
    time is its first fix."""
    settings = settings or get_settings()
    radius, least = settings.coverage_visit_radius_m, settings.coverage_visit_min_s
    if not fixes:
        return []
    (px, py), *xy = project([(lon, lat)] + [(f.lon, f.lat) for f in fixes])
    found = []
    run_start = None
    last_in = None
    for fix, (x, y) in zip(fixes, xy, strict=True):
        if math.hypot(x - px, y - py) <= radius:
            if run_start is None:
                run_start = fix
            last_in = fix
            continue
        if run_start is not None and (last_in.time - run_start.time).total_seconds() >= least:
            found.append(run_start.time)
        run_start = None
    if run_start is not None and (last_in.time - run_start.time).total_seconds() >= least:
        found.append(run_start.time)
    return found


def create_point(
    session: Session,
    *,
    code: str,
    name: str,
    lon: float,
    lat: float,
    rule: str,
    plates: list[str],
) -> CollectionPoint:
    """A collection point with its rule and assigned vehicles (by plate)."""
    if rule not in RULES:
        raise BadVehicle(f"规则 {rule} 无效, 应为 {' '.join(RULES)}", f"unknown rule {rule}")
    if session.scalar(select(CollectionPoint.id).where(CollectionPoint.code == code)):
        raise Exists(f"收集点 {code} 已存在", f"collection point {code} exists")
    point = CollectionPoint(
        code=code,
        name=name,
        lon=lon,
        lat=lat,
        rule=rule,
        active=True,
        vehicles=[service.vehicle_by_plate(session, p) for p in plates],
    )
    session.add(point)
    session.flush()
    return point


def points(session: Session) -> list[CollectionPoint]:
    return list(session.scalars(select(CollectionPoint).order_by(CollectionPoint.code)))


def _vehicle_fixes(
    session: Session, vehicle: Vehicle, start: dt.datetime, end: dt.datetime
) -> list[Fix]:
    ids = queries.tracker_ids_of_vehicle(session, vehicle.id)
    return queries.track(session, ids, start, end)


def served_at(session: Session, point: CollectionPoint, day: dt.date) -> dt.datetime | None:
    """The first visit of an assigned vehicle whose time lies in the point's window for `day`,
    or None. Runs are read from a day around the window, so that a run is whole."""
    start, end = window(point.rule, day)
    margin = dt.timedelta(hours=6)
    best = None
    for vehicle in point.vehicles:
        fixes = _vehicle_fixes(session, vehicle, start - margin, end + margin)
        for when in visits(fixes, point.lon, point.lat):
            if start <= when < end and (best is None or when < best):
                best = when
    return best


def check_point(
    session: Session, settings: Settings, point: CollectionPoint, day: dt.date
) -> CollectionCheck:
    """Decide day D of a point whose window has ended: served, or missed and one case opened
    (source system, category 06042, at the point). Decided once: a second call returns the
    stored outcome."""
    done = session.get(CollectionCheck, (point.id, day))
    if done is not None:
        return done
    visit = served_at(session, point, day)
    check = CollectionCheck(point_id=point.id, day=day, served=visit is not None, visit_time=visit)
    if visit is None:
        check.case_code = _open_case(session, settings, point, day)
    session.add(check)
    session.flush()
    return check


def _open_case(session: Session, settings: Settings, point: CollectionPoint, day: dt.date) -> str:
    start, end = window(point.rule, day)
    description = (
        f"收集点 {point.name} ({point.code}) {day.isoformat()} 未按 {point.rule} 清运 "
        f"(窗口 {start.strftime('%m-%d %H:%M')}–{end.strftime('%m-%d %H:%M')}, 无指派车辆到访)"
    )
    prepared = citizen_service.prepare(
        session,
        settings,
        category=settings.coverage_missed_category,
        source="system",
        lon=point.lon,
        lat=point.lat,
        address=point.name,
        description=description,
        actor=Actor.system(),
    )
    done = citizen_service.write(session, settings, prepared, find_duplicates=False)
    return done.case.code


def due_days(point: CollectionPoint, now: dt.datetime, grace: dt.timedelta) -> list[dt.date]:
    """The days whose window has ended (plus grace) since the point was made, up to now."""
    zone = local_zone()
    first = point.created_at.astimezone(zone).date()
    days = []
    day = first
    last = now.astimezone(zone).date() + dt.timedelta(days=1)
    while day <= last:
        start, end = window(point.rule, day)
        if end + grace <= now and end > point.created_at:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


CHECK_GRACE = dt.timedelta(minutes=5)  # late fixes (a terminal's backfill) still count
LOOKBACK_DAYS = 7


def check_all(session: Session, settings: Settings, now: dt.datetime | None = None) -> dict:
    """Every active point's ended windows not decided yet (the last LOOKBACK_DAYS days)."""
    now = now or utcnow()
    opened = served = 0
    for point in points(session):
        if not point.active:
            continue
        decided = set(
            session.scalars(select(CollectionCheck.day).where(CollectionCheck.point_id == point.id))
        )
        for day in due_days(point, now, CHECK_GRACE)[-LOOKBACK_DAYS:]:
            if day in decided:
                continue
            check = check_point(session, settings, point, day)
            served += check.served
            opened += not check.served
    return {"served": served, "cases": opened}


CHECK_JOB = scheduler.register(
    scheduler.Job(
        name="collection-points",
        every=dt.timedelta(minutes=1),
        run=check_all,
        description="收集点清运检查: a missed window opens one case / missed collection points",
    )
)


# --- road coverage --------------------------------------------------------------------------


def create_road(
    session: Session,
    *,
    code: str,
    name: str,
    unit_code: str,
    coordinates: list[list[float]],
    type_codes: list[str],
) -> Road:
    """A road (LineString, WGS-84) assigned to a unit and vehicle types; its length in UTM."""
    if len(coordinates) < 2:
        raise BadVehicle("道路至少需要两个点", "a road needs at least two points")
    if session.scalar(select(Road.id).where(Road.code == code)):
        raise Exists(f"道路 {code} 已存在", f"road {code} exists")
    unit = org_queries.units_by_code(session, [unit_code]).get(unit_code)
    if unit is None:
        raise BadVehicle(f"找不到单位 {unit_code}", f"org unit {unit_code} not found")
    line = LineString(project([(c[0], c[1]) for c in coordinates]))
    road = Road(
        code=code,
        name=name,
        org_unit_id=unit.id,
        coordinates=[[c[0], c[1]] for c in coordinates],
        length_m=line.length,
        types=[service.get_type(session, t) for t in type_codes],
    )
    session.add(road)
    session.flush()
    return road


def working_segments(
    fixes: list[Fix], low: float, high: float | None, start: dt.datetime, end: dt.datetime
) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Segments (two consecutive fixes ≤ coverage_segment_max_gap_s apart, both in [start, end),
    both speeds in (low, high]) in UTM metres."""
    if high is None:
        return []
    max_gap = get_settings().coverage_segment_max_gap_s
    inside = [f for f in fixes if start <= f.time < end]
    xy = project([(f.lon, f.lat) for f in inside])
    out = []
    for k in range(len(inside) - 1):
        a, b = inside[k], inside[k + 1]
        if (b.time - a.time).total_seconds() > max_gap:
            continue
        if low < a.speed <= high and low < b.speed <= high:
            out.append((xy[k], xy[k + 1]))
    return out


@dataclass
class RoadCoverage:
    code: str
    name: str
    length_m: float
    covered_m: float

    @property
    def coverage(self) -> float:
        return min(1.0, self.covered_m / self.length_m) if self.length_m > 0 else 0.0


def _covered(road: Road, segments: list) -> float:
    """The length of the road within the buffer of the segments. Only the segments within the
    buffer distance of the road count; they are merged first (a sweeper passes the same road
    many times), which leaves the buffer's point set as it is and makes it cheap."""
    if not segments:
        return 0.0
    distance = get_settings().coverage_road_buffer_m
    line = LineString(project([(c[0], c[1]) for c in road.coordinates]))
    lines = shapely.linestrings([list(s) for s in segments])
    near = lines[shapely.dwithin(lines, line, distance)]
    if not len(near):
        return 0.0
    return line.intersection(shapely.union_all(near).buffer(distance)).length


def day_window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = local_zone()
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    return start, start + dt.timedelta(days=1)


def unit_coverage(session: Session, unit_code: str, day: dt.date) -> dict:
    """Each assigned road's coverage by the unit's vehicles of the road's types on `day`, and
    the unit's: Σ covered / Σ length."""
    unit = org_queries.units_by_code(session, [unit_code]).get(unit_code)
    if unit is None:
        raise BadVehicle(f"找不到单位 {unit_code}", f"org unit {unit_code} not found")
    start, end = day_window(day)
    roads = list(
        session.scalars(select(Road).where(Road.org_unit_id == unit.id).order_by(Road.code))
    )
    fleet = service.vehicles(session, unit_code=unit_code)
    by_type: dict[int, list] = {}
    for vehicle in fleet:
        fixes = _vehicle_fixes(session, vehicle, start, end)
        kind = vehicle.type
        segments = working_segments(fixes, kind.work_speed_min, kind.work_speed_max, start, end)
        by_type.setdefault(kind.id, []).extend(segments)
    result = []
    for road in roads:
        segments = [s for kind in road.types for s in by_type.get(kind.id, [])]
        result.append(RoadCoverage(road.code, road.name, road.length_m, _covered(road, segments)))
    total = sum(r.length_m for r in result)
    return {
        "unit": unit_code,
        "day": day.isoformat(),
        "coverage": round(sum(r.covered_m for r in result) / total, 4) if total else None,
        "roads": [
            {
                "code": r.code,
                "name": r.name,
                "length_m": round(r.length_m, 1),
                "covered_m": round(r.covered_m, 1),
                "coverage": round(r.coverage, 4),
            }
            for r in result
        ],
    }


def vehicle_coverage(session: Session, vehicle: Vehicle, day: dt.date) -> dict:
    """The coverage of each road of the vehicle's unit assigned to its type, by this vehicle."""
    start, end = day_window(day)
    fixes = _vehicle_fixes(session, vehicle, start, end)
    kind = vehicle.type
    segments = working_segments(fixes, kind.work_speed_min, kind.work_speed_max, start, end)
    roads = session.scalars(
        select(Road).where(Road.org_unit_id == vehicle.org_unit_id).order_by(Road.code)
    )
    out = []
    for road in roads:
        if kind.id not in {t.id for t in road.types}:
            continue
        covered = _covered(road, segments)
        out.append(
            {
                "code": road.code,
                "name": road.name,
                "length_m": round(road.length_m, 1),
                "covered_m": round(covered, 1),
                "coverage": round(min(1.0, covered / road.length_m), 4) if road.length_m else 0.0,
            }
        )
    return {"vehicle": vehicle.plate, "day": day.isoformat(), "roads": out}


# --- idling ---------------------------------------------------------------------------------


def _periods(settings: Settings) -> list[tuple[dt.time, dt.time]]:
    out = []
    for part in settings.work_periods.split(","):
        a, b = part.strip().split("-")
        out.append((dt.time.fromisoformat(a), dt.time.fromisoformat(b)))
    return out


def idle_stretches(fixes: list[Fix], settings: Settings | None = None) -> list[dict]:
    """In working hours (work_periods, local time), each stretch in which the fixes stay within
    coverage_idle_radius_m (20 m) of their first for coverage_idle_min_s (30 min) or more: from
    that first fix to the first fix beyond the radius (or the last fix), flagged once."""
    settings = settings or get_settings()
    radius, least = settings.coverage_idle_radius_m, settings.coverage_idle_min_s
    periods = _periods(settings)
    zone = local_zone()

    def working(f: Fix) -> bool:
        t = f.time.astimezone(zone).time()
        return any(a <= t < b for a, b in periods)

    inside = [f for f in fixes if working(f)]
    xy = project([(f.lon, f.lat) for f in inside])
    out = []
    anchor = 0
    for k in range(1, len(inside) + 1):
        beyond = (
            k < len(inside)
            and math.hypot(xy[k][0] - xy[anchor][0], xy[k][1] - xy[anchor][1]) > radius
        )
        if k == len(inside) or beyond:
            last_within = inside[k - 1]
            if (last_within.time - inside[anchor].time).total_seconds() >= least:
                until = inside[k] if k < len(inside) else last_within
                out.append(
                    {
                        "start": inside[anchor].time.astimezone(zone).isoformat(),
                        "end": until.time.astimezone(zone).isoformat(),
                        "lon": inside[anchor].lon,
                        "lat": inside[anchor].lat,
                        "duration_s": round((until.time - inside[anchor].time).total_seconds()),
                    }
                )
            anchor = k
    return out


# --- a unit's day on one page ---------------------------------------------------------------


def units_with_work(session: Session) -> list[tuple[str, str]]:
    """(code, name) of the units that have roads to work or vehicles on collection rounds."""
    ids = set(session.scalars(select(Road.org_unit_id)))
    ids |= {v.org_unit_id for p in points(session) for v in p.vehicles}
    return sorted(service.unit_codes_by_id(session, ids).values())


def point_states(
    session: Session, unit_code: str, day: dt.date, now: dt.datetime | None = None
) -> list[dict]:
    """The collection points on the rounds of the unit's vehicles, each for `day`: `served`
    (with the visit's time), `missed` (its window over without a visit; the case the
    collection-points job opened, once it has run) or `open` (its window not over)."""
    now = now or utcnow()
    zone = local_zone()
    out = []
    for point in points(session):
        plates = sorted(v.plate for v in point.vehicles)
        units = service.unit_codes_by_id(session, {v.org_unit_id for v in point.vehicles})
        if unit_code not in {code for code, _ in units.values()}:
            continue
        start, end = window(point.rule, day)
        visit = served_at(session, point, day)
        check = session.get(CollectionCheck, (point.id, day))
        state = "served" if visit else ("missed" if now >= end else "open")
        out.append(
            {
                "code": point.code,
                "name": point.name,
                "rule": point.rule,
                "lon": point.lon,
                "lat": point.lat,
                "plates": plates,
                "window_end": end.astimezone(zone).isoformat(),
                "state": state,
                "visit_time": visit.astimezone(zone).isoformat() if visit else None,
                "case_code": check.case_code if check else None,
            }
        )
    return out


def road_lines(session: Session, unit_code: str) -> dict[str, list]:
    """The unit's roads as WGS-84 coordinates by road code, for the map."""
    unit = org_queries.units_by_code(session, [unit_code]).get(unit_code)
    if unit is None:
        return {}
    found = session.scalars(select(Road).where(Road.org_unit_id == unit.id))
    return {road.code: road.coordinates for road in found}
