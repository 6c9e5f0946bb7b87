"""Open311 listing: anonymous GET /open311/v2/requests.json?page_size=1000 on the demo database,
beside its floor (issue 12, item 13: it took 2.4 s when each request cost four queries).

Building. `civicgrid init` and `civicgrid demo --cases N` (N = 6,000 by default: the demo's
1,000 would not fill a page of public requests) into a temporary SQLite file, run as a user
runs them. The demo makes no photos; report photo rows are added for three public cases in
five (the listing reads the rows only, never the files).

Measuring. The real app (`create_app`, every middleware) through Starlette's TestClient in this
process: the first page of 1,000 public requests, the median of `repeats` warm requests, wall
time and this process's CPU time (client and server both). JSON without compression is the
figure held to the target; gzip (what a browser asks for) and XML are reported beside it.

The floor: the same rows and joins fetched by one plain SQL statement through sqlite3 (the
agency by a join, the service name, first photo and latest public note by subqueries), made into
the same documents in a loop and serialised with orjson. Its document must equal ours.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
BASE = "http://testserver"  # the TestClient's; the media URLs are built on it
PATH = "/open311/v2/requests.{fmt}?page_size=1000"
TARGET_MS = 200
PUBLIC_SOURCES = ("citizen", "open311")  # the default public policy


def build(path: Path, cases: int) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CIVICGRID_") or k == "CIVICGRID_TIMEZONE"
    }
    env.update(
        CIVICGRID_DATABASE_URL=f"sqlite:///{path}",
        CIVICGRID_MEDIA_DIR=str(path.parent / "media"),
        CIVICGRID_MODE="development",
    )
    for args in (["init"], ["demo", "--cases", str(cases)]):
        subprocess.run([str(BIN / "civicgrid"), *args], env=env, check=True, capture_output=True)
    conn = sqlite3.connect(path, isolation_level=None)
    public = [
        case_id
        for (case_id,) in conn.execute(
            "SELECT id FROM cases WHERE source IN (?, ?) ORDER BY id", PUBLIC_SOURCES
        )
    ]
    rows = [
        (case_id, "report", f"{case_id}/bench-{n}.jpg", f"{case_id}/bench-{n}.thumb.jpg")
        for i, case_id in enumerate(public)
        if i % 5 < 3
        for n in range(1 + i % 2)
    ]
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO photos (case_id, stage, key, thumb_key, width, height, size, sha256, "
        "created_at, public) VALUES (?, ?, ?, ?, 1024, 768, 120000, '', "
        "'2026-01-01 00:00:00.000000', 0)",
        rows,
    )
    conn.execute("COMMIT")
    conn.close()


def floor(path: Path) -> tuple[bytes, float, float]:
    """The page by one SQL statement and a loop; (document, wall s, CPU s)."""
    import orjson

    from civicgrid.cases.workflow import CLOSED_STATES, STATE_NAMES_ZH
    from civicgrid.citizen.service import public_status_note

    conn = sqlite3.connect(path)
    zone = ZoneInfo("Asia/Shanghai")
    notices = {**STATE_NAMES_ZH, "reported": "待立案", "registered": "已立案, 待派遣"}
    sql = """
        SELECT c.code, c.state, c.category_code, c.description, c.reported_at, c.last_event_at,
               c.deadline, c.address, c.lat, c.lon, u.name,
               (SELECT k.name FROM categories k WHERE k.code = c.category_code
                ORDER BY k.kind DESC LIMIT 1),
               (SELECT min(p.id) FROM photos p WHERE p.case_id = c.id AND p.stage = 'report'),
               (SELECT e.note FROM case_events e WHERE e.case_id = c.id
                AND e.public = 1 AND e.note != '' ORDER BY e.seq DESC LIMIT 1)
        FROM cases c LEFT JOIN org_units u ON u.code = c.unit_code
        WHERE c.source IN ('citizen', 'open311')
        ORDER BY c.reported_at DESC, c.id DESC LIMIT 1000
    """

    def iso(text):
        if text is None:
            return None
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).astimezone(zone).isoformat()

    t0, c0 = time.perf_counter(), time.process_time()
    page = [
        {
            "service_request_id": code,
            "status": "closed" if state in CLOSED_STATES else "open",
            "status_notes": public_status_note(state, unit, note),
            "service_name": service_name,
            "service_code": category,
            "description": description or None,
            "agency_responsible": unit,
            "service_notice": notices.get(state),
            "requested_datetime": iso(reported),
            "updated_datetime": iso(updated or reported),
            "expected_datetime": iso(deadline),
            "address": address or None,
            "address_id": None,
            "zipcode": None,
            "lat": lat,
            "long": lon,
            "media_url": f"{BASE}/open311/v2/media/{code}/{photo}.jpg" if photo else None,
        }
        for (
            code,
            state,
            category,
            description,
            reported,
            updated,
            deadline,
            address,
            lat,
            lon,
            unit,
            service_name,
            photo,
            note,
        ) in conn.execute(sql)
    ]
    body = orjson.dumps(page)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    conn.close()
    return body, wall, cpu


def timed(client, fmt: str, encoding: str, repeats: int) -> tuple[list[float], list[float], bytes]:
    walls, cpus = [], []
    body = b""
    for i in range(repeats + 2):
        t0, c0 = time.perf_counter(), time.process_time()
        r = client.get(PATH.format(fmt=fmt), headers={"Accept-Encoding": encoding})
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert r.status_code == 200, r.text[:500]
        body = r.content
        if i >= 2:  # two warm-up requests
            walls.append(wall)
            cpus.append(cpu)
    return walls, cpus, body


def ms(values: list[float], q: float = 0.5) -> float:
    if q == 0.5:
        return round(statistics.median(values) * 1000, 1)
    return round(statistics.quantiles(values, n=10)[int(q * 10) - 1] * 1000, 1)


def main(cases: int = 6000, repeats: int = 20) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.db"
        t0 = time.perf_counter()
        build(path, cases)
        build_s = time.perf_counter() - t0

        os.environ["CIVICGRID_DATABASE_URL"] = f"sqlite:///{path}"
        os.environ["CIVICGRID_MEDIA_DIR"] = str(Path(tmp) / "media")
        from fastapi.testclient import TestClient
        from sqlalchemy import event

        from civicgrid.app import create_app
        from civicgrid.config import get_settings
        from civicgrid.kit import db

        get_settings.cache_clear()
        db.set_engine(None)
        counts = sqlite3.connect(path)
        total, public = counts.execute(
            "SELECT count(*), sum(source IN ('citizen', 'open311')) FROM cases"
        ).fetchone()
        photos = counts.execute("SELECT count(*) FROM photos").fetchone()[0]
        counts.close()

        load_before = os.getloadavg()[0]
        with TestClient(create_app()) as client:
            queries: list[str] = []

            def count(_c, _cur, statement, *_a):
                if statement.lstrip().upper().startswith("SELECT"):
                    queries.append(statement)

            event.listen(db.get_engine(), "before_cursor_execute", count)
            client.get(PATH.format(fmt="json"))
            event.remove(db.get_engine(), "before_cursor_execute", count)

            walls, cpus, body = timed(client, "json", "identity", repeats)
            gzip_walls, _c, _b = timed(client, "json", "gzip", repeats // 2)
            xml_walls, _c, _b = timed(client, "xml", "identity", repeats // 2)
        floors = [floor(path) for _ in range(repeats)]
        load_after = os.getloadavg()[0]
        db.set_engine(None)

    ours, theirs = json.loads(body), json.loads(floors[0][0])
    assert len(ours) == 1000, len(ours)
    assert ours == theirs, "the floor's document differs from ours"
    median = ms(walls)
    floor_ms = ms([f[1] for f in floors])
    return {
        "name": "Open311 listing: GET /open311/v2/requests.json?page_size=1000 (SQLite, demo)",
        "cases": total,
        "public_cases": public,
        "report_photo_rows": photos,
        "build_s": round(build_s, 1),
        "items": len(ours),
        "bytes": len(body),
        "select_queries_per_page": len(queries),
        "repeats": repeats,
        "ms_median": median,
        "ms_p90": ms(walls, 0.9),
        "cpu_ms_median": ms(cpus),
        "gzip_ms_median": ms(gzip_walls),
        "xml_ms_median": ms(xml_walls),
        "floor_ms_median": floor_ms,
        "floor_cpu_ms_median": ms([f[2] for f in floors]),
        "ratio_to_floor": round(median / floor_ms, 2),
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "target": f"≤ {TARGET_MS} ms (JSON, no compression, median)",
        "target_met": median <= TARGET_MS,
        "targets": [
            {
                "target": f"an Open311 page of 1,000 requests ≤ {TARGET_MS} ms (SQLite, median)",
                "measured": f"{median} ms",
                "floor": f"{floor_ms} ms (one SQL statement, orjson)",
                "met": median <= TARGET_MS,
            }
        ],
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 6000), indent=1))
