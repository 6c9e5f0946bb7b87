"""GPS ingest: HTTP batches of fixes (POST /api/v1/gps/fixes, NDJSON) into SQLite, beside the
floor the issue names: the same rows inserted with the driver's executemany into the same
indexed table (vehicle_fixes, key (tracker_id, fix_time)).

Building. A fresh SQLite file migrated as `civicgrid init` does; a unit, a vehicle and one
HTTP tracker per 10,000 fixes (a day of a fix every ~9 s each).

Measuring. The real app (`create_app`, every middleware, started by its lifespan as
`civicgrid serve` starts it: what startup built is frozen out of the collector's sight)
through Starlette's TestClient in this process, the client's work counted as ours: `batches`
NDJSON bodies of 10,000 fixes, each one request and one transaction; fixes per second =
fixes stored / wall time. The floor: sqlite3's executemany of the same rows (the columns
ingest.store writes, times as the ORM writes them) into a second file with the same schema,
one transaction per 10,000, also committed.
"""

from __future__ import annotations

import datetime as dt
import gc
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import fleet  # noqa: E402

BATCH = 10_000
TARGET_PER_S = 50_000
T0 = dt.datetime(2026, 11, 20, 0, 0, tzinfo=dt.UTC)  # a past day: no fix is "future"


def _fixes(tracker: int):
    for k in range(BATCH):
        yield {
            "time": int(T0.timestamp()) + k * 9,
            "lat": 45.70 + (tracker % 50) * 0.002 + k * 0.00001,
            "lon": 126.60 + (tracker // 50) * 0.002,
            "speed": 12.5,
            "direction": 90,
        }


def main(batches: int = 20) -> dict:
    tmp = tempfile.mkdtemp(prefix="civicgrid-bench-gps-")
    app_db, floor_db = f"{tmp}/app.db", f"{tmp}/floor.db"
    made = fleet.fleet(app_db, batches, type_code="sweeper", protocol="http")
    fleet.migrate(floor_db)
    from fastapi.testclient import TestClient

    from civicgrid.app import create_app

    tokens = [(tracker_id, token) for _vehicle, tracker_id, token in made]
    bodies = [b"\n".join(orjson.dumps(f) for f in _fixes(tracker_id)) for tracker_id, _t in tokens]
    # entered as `civicgrid serve` starts the app: its lifespan runs (the grid index loaded,
    # what startup built frozen out of the collector's sight)
    with TestClient(create_app()) as client:
        stored = 0
        started, cpu = time.perf_counter(), time.process_time()
        for (_id, token), body in zip(tokens, bodies, strict=True):
            r = client.post(
                "/api/v1/gps/fixes",
                content=body,
                headers={"X-Device-Token": token, "Content-Type": "application/x-ndjson"},
            )
            assert r.status_code == 200, r.text
            stored += r.json()["stored"]
        app_s, app_cpu = time.perf_counter() - started, time.process_time() - cpu
    # what the lifespan froze goes back to the collector: the benchmarks after this one in the
    # process (make bench) run on the heap they would have had
    gc.unfreeze()
    assert stored == batches * BATCH, stored

    # the floor: the same rows, executemany, same table and key
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    rows = [
        [
            (
                tracker_id,
                dt.datetime.fromtimestamp(f["time"], dt.UTC)
                .replace(tzinfo=None)
                .isoformat(" ", "microseconds"),
                now,
                f["lon"],
                f["lat"],
                f["speed"],
                f["direction"],
                0,
                0,
                0,
                None,
                1,
                0,
            )
            for f in _fixes(tracker_id)
        ]
        for tracker_id, _t in tokens
    ]
    conn = sqlite3.connect(floor_db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    for batch in rows:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO vehicle_fixes (tracker_id, fix_time, server_time, lon, lat, speed, "
            "direction, altitude, alarm, status, mileage, valid, backfill) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            batch,
        )
        conn.execute("COMMIT")
    floor_s = time.perf_counter() - started
    conn.close()
    ours = stored / app_s
    floor = stored / floor_s
    return {
        "name": "gps_ingest (HTTP NDJSON batches of 10,000 into SQLite)",
        "fixes": stored,
        "ours_fixes_per_s": round(ours, 1),
        "ours_cpu_s_per_fix_us": round(app_cpu / stored * 1e6, 2),
        "floor_executemany_fixes_per_s": round(floor, 1),
        "ratio_to_floor": round(ours / floor, 3),
        "targets": [
            {
                "target": f"≥ {TARGET_PER_S:,} fixes/s on SQLite",
                "measured": f"{ours:,.0f}/s",
                "floor": f"{floor:,.0f}/s",
                "met": ours >= TARGET_PER_S,
            },
            {
                "target": "≥ 0.5 × the executemany floor",
                "measured": f"{ours / floor:.2f} ×",
                "floor": f"{floor:,.0f}/s",
                "met": ours >= 0.5 * floor,
            },
        ],
    }


if __name__ == "__main__":
    print(orjson.dumps(main(), option=orjson.OPT_INDENT_2).decode())
