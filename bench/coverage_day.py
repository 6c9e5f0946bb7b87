"""Road coverage of a unit's day: `vehicles` sweepers' days (8,640 fixes each, one every 10 s)
against `roads` assigned roads, on SQLite; beside the floor the issue names, the same work with
the thinnest tools (sqlite3 and shapely's vectorised functions) in the same run.

Building. A fresh SQLite file migrated as `civicgrid init` does; one unit, `roads` roads of
800 m in a grid (20 m apart from each other at the nearest), assigned to sweepers, made
through coverage.create_road; `vehicles` sweepers with a tracker each (the service). Each
sweeper works 08:00–16:00 local along its 10 roads, back and forth at 6 km/h (its type's work
speed is ≤ 8 km/h), a fix every 10 s, and stands still the rest of the day; the fixes are
written with executemany (a fixture: the ingest path has its own benchmark).

Measuring. coverage.unit_coverage(session, unit, day), as the route /api/v1/vehicles/coverage
calls it: it reads every vehicle's day, keeps the working segments, projects them to UTM 52N
and measures each road's length within 20 m of them. The floor: one sqlite3 query for every
fix of the day of those trackers, numpy masks for the working segments, pyproj for the
projection, one STRtree of all segments queried for all roads (dwithin 20 m), and for each
road the union of its near segments' buffers (shapely's polygons, 8 segments a quarter circle)
intersected with it. Both must agree within 0.1 m a road (ours measures the circles exactly,
the floor their polygons).
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import fleet  # noqa: E402

TARGET_S = 10.0
DAY = dt.date(2026, 11, 20)
ROAD_M = 800.0
ROADS_PER_VEHICLE = 10
METRE_LON = 1 / (111_320 * math.cos(math.radians(45.7)))
METRE_LAT = 1 / 110_540


def _road(k: int) -> list[list[float]]:
    """Road k of a grid: rows 40 m apart, 800 m pieces with a 20 m gap between them."""
    row, col = divmod(k, 50)
    lon0 = 126.40 + col * (ROAD_M + 20) * METRE_LON
    lat = 45.60 + row * 40 * METRE_LAT
    return [[lon0, lat], [lon0 + ROAD_M * METRE_LON, lat]]


def _build(path: str, vehicles: int, roads: int) -> list[int]:
    from civicgrid.kit.db import session_scope
    from civicgrid.kit.timefmt import local_zone
    from civicgrid.vehicles import coverage

    made = fleet.fleet(path, vehicles, type_code="sweeper", protocol="http", terminal="cov-{n}")
    trackers = [tracker for _vehicle, tracker, _token in made]
    with session_scope() as session:
        for k in range(roads):
            coverage.create_road(
                session,
                code=f"R{k:05d}",
                name=f"道路{k}",
                unit_code="2301",
                coordinates=_road(k),
                type_codes=["sweeper"],
            )
    start = dt.datetime.combine(DAY, dt.time(0), tzinfo=local_zone()).astimezone(dt.UTC)
    step_m = 6 / 3.6 * 10  # 6 km/h, 10 s
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for n, tracker in enumerate(trackers):
        mine = [_road((n * ROADS_PER_VEHICLE + j) % roads) for j in range(ROADS_PER_VEHICLE)]
        rows = []
        travelled = 0.0
        for i in range(8640):
            at = start + dt.timedelta(seconds=10 * i)
            working = 8 * 360 <= i < 16 * 360
            if working:
                travelled += step_m
            road = mine[int(travelled // (2 * ROAD_M)) % ROADS_PER_VEHICLE]
            along = travelled % (2 * ROAD_M)
            along = along if along <= ROAD_M else 2 * ROAD_M - along  # back and forth
            lon = road[0][0] + along * METRE_LON
            lat = road[0][1] + 3 * METRE_LAT  # 3 m beside the centre line
            rows.append(
                (
                    tracker,
                    at.replace(tzinfo=None).isoformat(" ", "microseconds"),
                    at.replace(tzinfo=None).isoformat(" ", "microseconds"),
                    lon,
                    lat,
                    6.0 if working else 0.0,
                    90,
                    150,
                    0,
                    3,
                    None,
                    1,
                    0,
                )
            )
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO vehicle_fixes (tracker_id, fix_time, server_time, lon, lat, speed, "
            "direction, altitude, alarm, status, mileage, valid, backfill) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.execute("COMMIT")
    conn.close()
    return trackers


def _floor(path: str, trackers: list[int]) -> list[float]:
    import numpy as np
    import shapely
    from pyproj import Transformer

    from civicgrid.kit.timefmt import local_zone

    start = dt.datetime.combine(DAY, dt.time(0), tzinfo=local_zone()).astimezone(dt.UTC)
    end = start + dt.timedelta(days=1)
    fmt = lambda t: t.replace(tzinfo=None).isoformat(" ", "microseconds")  # noqa: E731
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT tracker_id, CAST(strftime('%s', fix_time) AS INTEGER), lon, lat, speed "
        "FROM vehicle_fixes WHERE fix_time >= ? AND fix_time < ? "
        f"AND tracker_id IN ({','.join('?' * len(trackers))}) ORDER BY tracker_id, fix_time",
        (fmt(start), fmt(end), *trackers),
    ).fetchall()
    roads = conn.execute("SELECT coordinates FROM roads ORDER BY code").fetchall()
    conn.close()
    data = np.array(rows, dtype=float)
    utm = Transformer.from_crs(4326, 32652, always_xy=True)
    xs, ys = utm.transform(data[:, 2], data[:, 3])
    xy = np.column_stack([xs, ys])
    working = (data[:, 4] > 0) & (data[:, 4] <= 8)
    same = data[1:, 0] == data[:-1, 0]
    keep = same & (np.diff(data[:, 1]) <= 60) & working[:-1] & working[1:]
    segs = shapely.linestrings(np.stack([xy[:-1][keep], xy[1:][keep]], axis=1))
    lines = []
    for (coordinates,) in roads:
        c = np.array(orjson.loads(coordinates))
        rx, ry = utm.transform(c[:, 0], c[:, 1])
        lines.append(shapely.linestrings(np.column_stack([rx, ry])))
    road_at, seg_at = shapely.STRtree(segs).query(lines, predicate="dwithin", distance=20)
    out = [0.0] * len(lines)
    order = np.lexsort((seg_at, road_at))
    road_at, seg_at = road_at[order], seg_at[order]
    for chunk in np.split(np.arange(len(road_at)), np.flatnonzero(np.diff(road_at)) + 1):
        if len(chunk):
            r = int(road_at[chunk[0]])
            near = shapely.union_all(shapely.buffer(segs[seg_at[chunk]], 20))
            out[r] = lines[r].intersection(near).length
    return out


def main(vehicles: int = 200, roads: int = 2000) -> dict:
    tmp = tempfile.mkdtemp(prefix="civicgrid-bench-coverage-")
    path = f"{tmp}/coverage.db"
    built = time.perf_counter()
    trackers = _build(path, vehicles, roads)
    build_s = time.perf_counter() - built

    from civicgrid.kit.db import session_scope
    from civicgrid.vehicles import coverage

    started = time.perf_counter()
    with session_scope(read_only=True) as session:
        ours = coverage.unit_coverage(session, "2301", DAY)
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    floor = _floor(path, trackers)
    floor_s = time.perf_counter() - started
    covered = [r["covered_m"] for r in ours["roads"]]
    differ = sum(1 for a, b in zip(covered, floor, strict=True) if abs(a - b) > 0.1)
    return {
        "name": f"road coverage ({vehicles} sweepers' day against {roads:,} roads, SQLite)",
        "fixes": vehicles * 8640,
        "build_s": round(build_s, 1),
        "unit_coverage": ours["coverage"],
        "roads_covered": sum(1 for c in covered if c > 0),
        "roads_differing_from_floor": differ,
        "ours_s": round(ours_s, 2),
        "floor_s": round(floor_s, 2),
        "targets": [
            {
                "target": f"coverage of {vehicles} vehicles' day against {roads:,} roads "
                f"≤ {TARGET_S:g} s",
                "measured": f"{ours_s:.2f} s",
                "floor": f"{floor_s:.2f} s (sqlite3 + numpy + shapely vectorised)",
                "met": ours_s <= TARGET_S and differ == 0,
            }
        ],
    }


if __name__ == "__main__":
    print(orjson.dumps(main(), option=orjson.OPT_INDENT_2).decode())
