"""Every assessment table (reference/assessment.md) for one month, beside the KPI report, over
the KPI benchmark's database (bench.kpis_month builds it; KPIS_DB reuses one built before).

Measuring. `stats.assessment.assessment` (what the API and the CLI call) for the month of
kpis_month, for each subject: region by street, community and grid, department, and each post;
median of `repeats` warm runs; and kpis_month's own `stats.service.kpis` by street beside it.

The floor (WAVE2-NOTES): one plain GROUP BY pass over the same events with precomputed
working-minute columns. The month's events are copied (not timed) into a table of their own with
their wait (CaseEvent.wait_key, written with each event), their case's unit and grid; the floor
is one GROUP BY of that table by action and actor counting the acts and those within their
limits.

The copies of kpis_month's grow() move every time by whole days and keep each event's wait as
the template's: the figures of a copy are not what the calendar would give its moved times (as
its deadlines are not), which changes no timing.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cases_gen import DISPATCHERS, OPERATORS, SUPERVISORS  # noqa: E402
from bench.kpis_month import MONTH, build_templates, grow  # noqa: E402

TABLES = (
    ("region-street", {"subject": "region", "level": "street"}),
    ("region-community", {"subject": "region", "level": "community"}),
    ("region-grid", {"subject": "region", "level": "grid"}),
    ("department", {"subject": "department"}),
    ("post-supervisor", {"subject": "post", "post": "supervisor"}),
    ("post-operator", {"subject": "post", "post": "operator"}),
    ("post-dispatcher", {"subject": "post", "post": "dispatcher"}),
)


def people() -> None:
    """The benchmark histories' actors as accounts, the supervisors named for the grids."""
    from civicgrid.auth import service as auth_service
    from civicgrid.geo import queries as geo_queries
    from civicgrid.geo import service as geo_service
    from civicgrid.kit import db

    with db.session_scope() as s:
        if auth_service.get_user(s, "op0") is not None:
            return
        digest = auth_service.hash_password("bench-password-1")
        for names, role in ((SUPERVISORS, "supervisor"), (OPERATORS, "operator")):
            for name in names:
                auth_service.create_user(
                    s,
                    username=name,
                    password="bench-password-1",
                    password_hash=digest,
                    name=name,
                    org_unit_code="239901",
                    roles=[role],
                )
        for name in DISPATCHERS:
            auth_service.create_user(
                s,
                username=name,
                password="bench-password-1",
                password_hash=digest,
                name=name,
                org_unit_code="239901",
                roles=["dispatcher"],
            )
        grids = [code for code, *_ in geo_queries.grids(s)]
        for k, name in enumerate(SUPERVISORS[: len(grids)]):
            geo_service.set_responsible_areas(s, name, [grids[k]])


def ours(repeats: int) -> tuple[dict, dict]:
    from civicgrid.kit import db
    from civicgrid.stats import assessment
    from civicgrid.stats import service as stats

    timings, reports = {}, {}
    for name, which in (*TABLES, ("kpis-street", None)):
        runs = []
        for _ in range(repeats):
            with db.session_scope() as s:
                t0 = time.perf_counter()
                if which is None:
                    reports[name] = stats.kpis(s, start=MONTH[0], end=MONTH[1], group_by="street")
                else:
                    reports[name] = assessment.assessment(s, start=MONTH[0], end=MONTH[1], **which)
                runs.append(time.perf_counter() - t0)
        timings[name] = round(statistics.median(runs), 3)
    return timings, reports


def floor(path: str, repeats: int) -> tuple[float, dict]:
    """The month's events with their precomputed working-minute column, copied (not timed)
    into a table of their own with a covering index on the time, and one GROUP BY pass over
    it."""
    start, end = (t.astimezone(dt.UTC).replace(tzinfo=None) for t in MONTH)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE IF EXISTS floor_events")
    conn.execute(
        "CREATE TABLE floor_events AS SELECT e.at, e.action, coalesce(e.actor, CASE WHEN "
        "e.role = 'system' THEN 'system' END) AS by, c.unit_code AS unit, c.grid_code AS grid, "
        "e.wait_key FROM case_events e JOIN cases c ON c.id = e.case_id "
        "WHERE e.at >= ? AND e.at < ?",
        (start.isoformat(" "), end.isoformat(" ")),
    )
    # covering: the pass reads the index alone, as our counts read theirs
    conn.execute("CREATE INDEX ix_floor_at ON floor_events (at, action, by, wait_key)")
    conn.commit()
    query = (
        "SELECT action, by, count(*), sum(wait_key <= 2 * 60000000 * CASE action "
        "WHEN 'accept' THEN 60 WHEN 'dispatch' THEN 30 ELSE 120 END) FROM floor_events "
        "WHERE at >= ? AND at < ? GROUP BY action, by"
    )
    runs, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = conn.execute(query, (start.isoformat(" "), end.isoformat(" "))).fetchall()
        runs.append(time.perf_counter() - t0)
    events = conn.execute("SELECT count(*) FROM floor_events").fetchone()[0]
    conn.execute("DROP TABLE floor_events")
    conn.commit()
    conn.close()
    return round(statistics.median(runs), 3), {"events": events, "groups": len(result)}


def main(n: int = 10_000_000, repeats: int = 3) -> dict:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        path = os.environ.get("KPIS_DB") or f"{tmp}/kpis.db"
        if not os.path.exists(path):
            build_templates(path)
            built = grow(path, n)
        else:
            conn = sqlite3.connect(path)
            built = {"cases": conn.execute("SELECT count(*) FROM cases").fetchone()[0]}
            conn.close()
        os.environ["CIVICGRID_DATABASE_URL"] = f"sqlite:///{path}"
        from civicgrid import migrate
        from civicgrid.config import get_settings
        from civicgrid.kit import db

        get_settings.cache_clear()
        db.set_engine(None)
        migrate.upgrade(db.get_engine())
        people()
        timings, reports = ours(repeats)
        print("ours:", timings, file=sys.stderr)
        floor_s, floor_info = floor(path, repeats)
        db.set_engine(None)
    month_cases = reports["region-street"]["total"]["registered"]
    slowest = max(v for k, v in timings.items() if k != "kpis-street")
    slowest_name = max((k for k in timings if k != "kpis-street"), key=timings.get)
    return {
        "name": "Assessment tables of one month (SQLite), beside the KPI report",
        "build": built,
        "month": [MONTH[0].isoformat(), MONTH[1].isoformat()],
        "month_registered": month_cases,
        "assessment_s_by_table": timings,
        "slowest_s": slowest,
        "floor_s": floor_s,
        "floor": floor_info,
        "target": "every table <= 1 s for a month over 10 million cases",
        "targets": [
            {
                "target": "every subject's table of a month ≤ 1 s over 10 million cases (SQLite)",
                "measured": f"{slowest} s (slowest: {slowest_name}); KPIs by street "
                f"{timings['kpis-street']} s",
                "floor": f"{floor_s} s (one GROUP BY of the month's events, waits precomputed)",
                "met": slowest <= 1.0,
            }
        ],
    }


if __name__ == "__main__":
    import json

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    print(json.dumps(main(n), ensure_ascii=False, indent=1))
