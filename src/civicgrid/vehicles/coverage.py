"""Sanitation coverage from tracks (日产即清 · 夜产晨清 · 道路作业覆盖率), after
shared/reference/coverage.md: distances in metres in UTM zone 52N (EPSG:32652), fixes WGS-84,
days and windows in local time (Asia/Shanghai)."""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
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
from civicgrid.kit.timefmt import local_day, local_zone
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


def project_xy(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    """Arrays of lon, lat (WGS-84) → arrays of x, y (metres in UTM zone 52N), in one call."""
    xs, ys = _utm().transform(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
    return np.asarray(xs), np.asarray(ys)


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


def _vehicle_columns(
    session: Session, vehicle: Vehicle, start: dt.datetime, end: dt.datetime
) -> np.ndarray:
    ids = queries.tracker_ids_of_vehicle(session, vehicle.id)
    return queries.track_columns(session, ids, start, end)


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
    columns: np.ndarray, low: float, high: float | None, start: dt.datetime, end: dt.datetime
) -> np.ndarray:
    """Segments (two consecutive fixes ≤ coverage_segment_max_gap_s apart, both in [start, end),
    both speeds in (low, high]) in UTM metres, as an array (segments, 2 ends, x y). `columns`:
    epoch seconds, lon, lat and speed of the fixes in time order (queries.track_columns)."""
    times, lons, lats, speeds = columns.T
    inside = (times >= start.timestamp()) & (times < end.timestamp())
    if high is None or inside.sum() < 2:
        return np.empty((0, 2, 2))
    times, lons, lats, speeds = times[inside], lons[inside], lats[inside], speeds[inside]
    xs, ys = _utm().transform(lons, lats)
    xy = np.column_stack([xs, ys])
    working = (speeds > low) & (speeds <= high)
    keep = (np.diff(times) <= get_settings().coverage_segment_max_gap_s) & working[:-1]
    keep &= working[1:]
    return np.stack([xy[:-1][keep], xy[1:][keep]], axis=1)


@dataclass
class RoadCoverage:
    code: str
    name: str
    length_m: float
    covered_m: float

    @property
    def coverage(self) -> float:
        return min(1.0, self.covered_m / self.length_m) if self.length_m > 0 else 0.0


def road_line(road: Road) -> LineString:
    return LineString(project([(c[0], c[1]) for c in road.coordinates]))


def _slab(x0: np.ndarray, k: np.ndarray, low, high) -> tuple[np.ndarray, np.ndarray]:
    """The t where low ≤ x0 + t·k ≤ high: an interval, empty (lo > hi) or all of t."""
    flat = np.abs(k) < 1e-12
    safe = np.where(flat, 1.0, k)
    t1, t2 = (low - x0) / safe, (high - x0) / safe
    inside = (low <= x0) & (x0 <= high)
    lo = np.where(flat, np.where(inside, -np.inf, np.inf), np.minimum(t1, t2))
    hi = np.where(flat, np.where(inside, np.inf, -np.inf), np.maximum(t1, t2))
    return lo, hi


def _within(p0, u, length, a, b, distance) -> tuple[np.ndarray, np.ndarray]:
    """For pairs of a road edge (from p0, unit direction u, `length` long) and a segment a–b:
    the interval [lo, hi] of the edge (metres from p0) within `distance` of the segment. The
    points within `distance` of a segment make a convex capsule (a rectangle and two discs),
    so the interval is where the edge's line crosses the discs and the rectangle."""
    lo = np.full(len(p0), np.inf)
    hi = np.full(len(p0), -np.inf)
    for centre in (a, b):
        w = p0 - centre
        half = (w * u).sum(axis=1)
        disc = half * half - ((w * w).sum(axis=1) - distance * distance)
        hit = disc >= 0
        root = np.sqrt(np.where(hit, disc, 0.0))
        lo = np.where(hit, np.minimum(lo, -half - root), lo)
        hi = np.where(hit, np.maximum(hi, -half + root), hi)
    v = b - a
    span = np.hypot(v[:, 0], v[:, 1])
    real = span > 0
    along = v / np.where(real, span, 1.0)[:, None]
    normal = np.column_stack([-along[:, 1], along[:, 0]])
    lo1, hi1 = _slab(((p0 - a) * along).sum(axis=1), (u * along).sum(axis=1), 0.0, span)
    lo2, hi2 = _slab(((p0 - a) * normal).sum(axis=1), (u * normal).sum(axis=1), -distance, distance)
    r_lo, r_hi = np.maximum(lo1, lo2), np.minimum(hi1, hi2)
    box = real & (r_lo <= r_hi)
    lo = np.where(box, np.minimum(lo, r_lo), lo)
    hi = np.where(box, np.maximum(hi, r_hi), hi)
    return np.maximum(lo, 0.0), np.minimum(hi, length)


CHUNK = 16


def covered_lengths(lines: list[LineString], segments: np.ndarray) -> list[float]:
    """The length of each road line within the buffer distance of any of the segments, exact:
    each road edge near a segment (found for all at once in a tree) gets the
    interval of it within the distance of that segment (a capsule's crossing, not a polygon's
    approximation of a circle), and each edge's intervals are merged and measured."""
    if not len(segments) or not lines:
        return [0.0] * len(lines)
    distance = get_settings().coverage_road_buffer_m
    coords = [np.asarray(line.coords)[:, :2] for line in lines]
    starts = np.concatenate([c[:-1] for c in coords])
    ends = np.concatenate([c[1:] for c in coords])
    edge_road = np.concatenate([np.full(len(c) - 1, k) for k, c in enumerate(coords)])
    edge_len = np.hypot(*(ends - starts).T)
    edges = shapely.linestrings(np.stack([starts, ends], axis=1))
    # the tree holds boxes of CHUNK consecutive segments (a vehicle's path stays together):
    # far fewer than the segments. Each edge near a box is then paired with the box's segments.
    # The boxes are a metre wider than their segments (a box of one point is no polygon).
    chunks = np.arange(0, len(segments), CHUNK)
    low = np.minimum.reduceat(segments.min(axis=1), chunks) - 1.0
    high = np.maximum.reduceat(segments.max(axis=1), chunks) + 1.0
    boxes = shapely.box(low[:, 0], low[:, 1], high[:, 0], high[:, 1])
    e, c = shapely.STRtree(boxes).query(edges, predicate="dwithin", distance=distance)
    real = edge_len[e] > 0  # a repeated vertex adds no length
    e, c = e[real], c[real]
    size = np.minimum(CHUNK, len(segments) - chunks[c])  # the last chunk may be short
    e = np.repeat(e, size)
    first = np.repeat(chunks[c], size)
    k = first + np.arange(len(first)) - np.repeat(np.cumsum(size) - size, size)
    unit = (ends - starts)[e] / edge_len[e][:, None]
    lo, hi = _within(starts[e], unit, edge_len[e], segments[k, 0], segments[k, 1], distance)
    keep = lo < hi
    e, lo, hi = e[keep], lo[keep], hi[keep]
    if not len(e):
        return [0.0] * len(lines)
    # the union of each edge's intervals: the edges apart on one axis, sorted, a new run
    # wherever an interval starts after every earlier one has ended
    gap = float(edge_len.max()) + 1.0
    lo, hi = lo + e * gap, hi + e * gap
    order = np.argsort(lo, kind="stable")
    e, lo, hi = e[order], lo[order], hi[order]
    reach = np.maximum.accumulate(hi)
    new = np.ones(len(lo), dtype=bool)
    new[1:] = lo[1:] > reach[:-1]
    first = np.flatnonzero(new)
    run = np.maximum.reduceat(hi, first) - lo[first]
    per_edge = np.bincount(e[first], weights=run, minlength=len(edge_len))
    return np.bincount(edge_road, weights=per_edge, minlength=len(lines)).tolist()


def unit_coverage(session: Session, unit_code: str, day: dt.date) -> dict:
    """Each assigned road's coverage by the unit's vehicles of the road's types on `day`, and
    the unit's: Σ covered / Σ length."""
    unit = org_queries.units_by_code(session, [unit_code]).get(unit_code)
    if unit is None:
        raise BadVehicle(f"找不到单位 {unit_code}", f"org unit {unit_code} not found")
    start, end = local_day(day)
    roads = list(
        session.scalars(select(Road).where(Road.org_unit_id == unit.id).order_by(Road.code))
    )
    fleet = service.vehicles(session, unit_code=unit_code)
    by_type: dict[int, list[np.ndarray]] = {}
    for vehicle in fleet:
        kind = vehicle.type
        columns = _vehicle_columns(session, vehicle, start, end)
        segments = working_segments(columns, kind.work_speed_min, kind.work_speed_max, start, end)
        by_type.setdefault(kind.id, []).append(segments)
    # the roads of the same types (in the same order) share their segments
    groups: dict[tuple[int, ...], list[int]] = {}
    for k, road in enumerate(roads):
        groups.setdefault(tuple(t.id for t in road.types), []).append(k)
    covered = [0.0] * len(roads)
    for kinds, members in groups.items():
        parts = [s for kind in kinds for s in by_type.get(kind, [])]
        segments = np.concatenate(parts) if parts else np.empty((0, 2, 2))
        lengths = covered_lengths([road_line(roads[k]) for k in members], segments)
        for k, length in zip(members, lengths, strict=True):
            covered[k] = length
    result = [
        RoadCoverage(road.code, road.name, road.length_m, covered[k])
        for k, road in enumerate(roads)
    ]
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
    start, end = local_day(day)
    kind = vehicle.type
    columns = _vehicle_columns(session, vehicle, start, end)
    segments = working_segments(columns, kind.work_speed_min, kind.work_speed_max, start, end)
    roads = [
        road
        for road in session.scalars(
            select(Road).where(Road.org_unit_id == vehicle.org_unit_id).order_by(Road.code)
        )
        if kind.id in {t.id for t in road.types}
    ]
    lengths = covered_lengths([road_line(road) for road in roads], segments)
    out = [
        {
            "code": road.code,
            "name": road.name,
            "length_m": round(road.length_m, 1),
            "covered_m": round(covered, 1),
            "coverage": round(min(1.0, covered / road.length_m), 4) if road.length_m else 0.0,
        }
        for road, covered in zip(roads, lengths, strict=True)
    ]
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
