"""A month's KPIs over a database of 10 million cases, on SQLite, beside DuckDB's plain scan.

Building. 20,000 realistic histories (bench.cases_gen, one month of reports) go through the real
import path, which writes the case rows with their projected facts. The database is then grown
to `n` cases by copying those rows in SQL, each copy moved on by a whole number of days (every
time column and the deadlines in the event payloads): the same rows the import would write for
histories moved in time, made in minutes instead of an hour. Indexes are dropped during the copy
and made again afterwards, exactly as the migrations define them.

Measuring. `stats.service.kpis` (what the API and the CLI call) for one month in the middle,
for every group_by, median of `repeats` warm runs. Beside it a REFERENCE, not a floor (it does
other work, in another engine, on columns instead of rows): the same events, copied the same
way into DuckDB, and one plain scan that folds every event before the cut-off into per-case
facts and counts the month's population (reported, registered, dispatched, closed, handled,
reworked, returned, extended, rated) per street. Its counts must equal ours.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cases_gen import CST, lines  # noqa: E402
from bench.import_cases import BOX, UNITS, fresh_db  # noqa: E402

TEMPLATES = 20_000
SPAN_DAYS = 1_000  # the copies spread the cases over about 33 months
START = dt.datetime(2024, 1, 1, tzinfo=CST)
MONTH = (dt.datetime(2025, 6, 1, tzinfo=CST), dt.datetime(2025, 7, 1, tzinfo=CST))
SIMPLE_COUNTS = (
    "reported",
    "registered",
    "dispatched",
    "closed",
    "handled",
    "reworked",
    "returned",
    "extended",
    "rated",
)


def build_templates(path: str) -> None:
    from civicgrid.cases import history
    from civicgrid.kit import db

    fresh_db(path)
    data = list(lines(TEMPLATES, UNITS, BOX, seed=11, start=START, span_days=30))
    report = history.import_lines(data)
    assert report.imported == TEMPLATES, report
    db.set_engine(None)


def _shift(column: str, days: str) -> str:
    """A stored UTC time 'YYYY-MM-DD HH:MM:SS.ffffff' moved on by `days` days."""
    moved = f"datetime({column}, {days}) || substr({column}, 20)"
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE {moved} END"


def _shift_iso(payload: str, key: str, days: str) -> str:
    """An ISO 8601 time with offset inside the JSON payload, moved on by `days` days."""
    value = f"json_extract({payload}, '$.{key}')"
    return (
        f"CASE WHEN {value} IS NULL THEN {payload} ELSE json_set({payload}, '$.{key}', "
        f"strftime('%Y-%m-%dT%H:%M:%S', substr({value}, 1, 19), {days}) || substr({value}, 20)) END"
    )


def grow(path: str, n: int) -> dict:
    """Copy the templates until the database holds n cases; returns timings."""
    copies = n // TEMPLATES
    step = max(1, SPAN_DAYS // copies)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    info = list(conn.execute("PRAGMA table_info(cases)"))
    case_cols = [r[1] for r in info]
    times = {r[1] for r in info if r[2].upper().startswith("DATETIME")}
    indexes = [
        sql
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
            "AND tbl_name IN ('cases', 'case_events')"
        )
    ]
    t0 = time.perf_counter()
    for (name,) in list(
        conn.execute(
            "SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
            "AND tbl_name IN ('cases', 'case_events')"
        )
    ):
        conn.execute(f"DROP INDEX {name}")
    event_cols = (
        "case_id, seq, at, action, from_state, to_state, actor, role, note, payload, ref_at, "
        "ref_by, wait_key"
    )
    conn.execute("BEGIN")
    for k in range(1, copies):
        days = f"'+{k * step} days'"
        select_cases = ", ".join(
            f"id + {k * TEMPLATES}"
            if c == "id"
            else f"code || '#{k}'"
            if c == "code"
            else _shift(c, days)
            if c in times
            else c
            for c in case_cols
        )
        conn.execute(
            f"INSERT INTO cases ({', '.join(case_cols)}) SELECT {select_cases} FROM cases "
            f"WHERE id <= {TEMPLATES}"
        )
        payload = _shift_iso(_shift_iso("payload", "deadline", days), "until", days)
        conn.execute(
            f"INSERT INTO case_events ({event_cols}) SELECT case_id + {k * TEMPLATES}, seq, "
            f"{_shift('at', days)}, action, from_state, to_state, actor, role, note, "
            f"CASE WHEN action IN ('dispatch', 'extend_request', 'extend_approve') "
            f"THEN {payload} ELSE payload END, {_shift('ref_at', days)}, ref_by, wait_key "
            f"FROM case_events WHERE case_id <= {TEMPLATES}"
        )
    conn.execute("COMMIT")
    copied = time.perf_counter() - t0
    t1 = time.perf_counter()
    for sql in indexes:
        conn.execute(sql)
    conn.execute("ANALYZE")
    indexed = time.perf_counter() - t1
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    cases = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
    events = conn.execute("SELECT count(*) FROM case_events").fetchone()[0]
    conn.close()
    return {
        "cases": cases,
        "events": events,
        "copy_s": round(copied, 1),
        "index_s": round(indexed, 1),
        "step_days": step,
        "db_gib": round(os.path.getsize(path) / 2**30, 2),
    }


def ours(repeats: int) -> tuple[dict, dict]:
    from civicgrid.kit import db
    from civicgrid.stats import kpi
    from civicgrid.stats import service as stats

    timings, reports = {}, {}
    for group_by in kpi.GROUPS:
        runs = []
        for _ in range(repeats):
            with db.session_scope() as s:
                t0 = time.perf_counter()
                reports[group_by] = stats.kpis(s, start=MONTH[0], end=MONTH[1], group_by=group_by)
                runs.append(time.perf_counter() - t0)
        timings[group_by] = round(statistics.median(runs), 3)
    return timings, reports


def folded_count() -> int:
    """How many of the month's cases the fast path leaves to the fold."""
    from sqlalchemy import func, or_, select

    from civicgrid.cases.models import Case
    from civicgrid.kit import db

    start, end = MONTH
    with db.session_scope() as s:
        return s.scalar(
            select(func.count())
            .select_from(Case)
            .where(
                or_(Case.reported_at.between(start, end), Case.registered_at.between(start, end)),
                or_(Case.suspended_at.is_not(None), Case.revised_at >= end),
            )
        )


def duckdb_floor(path: str, repeats: int) -> tuple[float, dict, dict]:
    """The same events in DuckDB (read from the SQLite file, copied the same way), scanned."""
    import duckdb

    src = sqlite3.connect(path)
    tmp = tempfile.mkdtemp()
    events_csv, cases_csv = f"{tmp}/events.csv", f"{tmp}/cases.csv"
    import csv

    with open(events_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerows(
            src.execute(
                f"SELECT case_id, seq, at, action FROM case_events WHERE case_id <= {TEMPLATES}"
            )
        )
    with open(cases_csv, "w", newline="") as f:
        csv.writer(f).writerows(
            src.execute(f"SELECT id, street_code FROM cases WHERE id <= {TEMPLATES}")
        )
    total = src.execute("SELECT count(*) FROM cases").fetchone()[0]
    src.close()
    copies = total // TEMPLATES
    step = max(1, SPAN_DAYS // copies)
    con = duckdb.connect(f"{tmp}/floor.duckdb")
    con.execute("SET enable_progress_bar = false")
    con.execute(
        "CREATE TABLE t_events AS SELECT * FROM read_csv(?, header=false, "
        "columns={'case_id': 'BIGINT', 'seq': 'INTEGER', 'at': 'TIMESTAMP', 'action': 'VARCHAR'})",
        [events_csv],
    )
    con.execute(
        "CREATE TABLE t_cases AS SELECT * FROM read_csv(?, header=false, "
        "columns={'id': 'BIGINT', 'street_code': 'VARCHAR'})",
        [cases_csv],
    )
    con.execute(
        f"CREATE TABLE case_events AS SELECT case_id + k * {TEMPLATES} AS case_id, seq, "
        f'"at" + to_days(CAST(k * {step} AS INTEGER)) AS "at", action '
        f"FROM t_events, range({copies}) r(k) ORDER BY case_id, seq"
    )
    con.execute(
        f"CREATE TABLE cases AS SELECT id + k * {TEMPLATES} AS id, street_code "
        f"FROM t_cases, range({copies}) r(k)"
    )
    start, end = (t.astimezone(dt.UTC).replace(tzinfo=None) for t in MONTH)
    query = """
        WITH f AS (
            SELECT case_id,
                min("at") FILTER (action = 'report') AS reported_at,
                min("at") FILTER (action = 'accept') AS registered_at,
                bool_or(action = 'dispatch') AS dispatched,
                bool_or(action = 'verify_pass') AS closed,
                bool_or(action = 'report_done') AS handled,
                bool_or(action = 'verify_fail') AS reworked,
                bool_or(action = 'return') AS returned,
                bool_or(action = 'extend_approve') AS extended,
                bool_or(action = 'rate') AS rated
            FROM case_events WHERE "at" < $end GROUP BY case_id
        ), p AS (
            SELECT f.*, registered_at >= $start AND registered_at < $end AS in_p
            FROM f WHERE (reported_at >= $start AND reported_at < $end)
               OR (registered_at >= $start AND registered_at < $end)
        )
        SELECT c.street_code,
            count(*) FILTER (reported_at >= $start AND reported_at < $end) AS reported,
            count(*) FILTER (in_p) AS registered,
            count(*) FILTER (in_p AND dispatched) AS dispatched,
            count(*) FILTER (in_p AND closed) AS closed,
            count(*) FILTER (in_p AND handled) AS handled,
            count(*) FILTER (in_p AND reworked) AS reworked,
            count(*) FILTER (in_p AND returned) AS returned,
            count(*) FILTER (in_p AND extended) AS extended,
            count(*) FILTER (in_p AND rated) AS rated
        FROM p JOIN cases c ON c.id = p.case_id GROUP BY c.street_code
    """
    runs, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = con.execute(query, {"start": start, "end": end}).fetchall()
        runs.append(time.perf_counter() - t0)
    events = con.execute("SELECT count(*) FROM case_events").fetchone()[0]
    con.close()
    by_street = {row[0]: dict(zip(SIMPLE_COUNTS, row[1:], strict=True)) for row in result}
    return round(statistics.median(runs), 3), by_street, {"events": events}


def main(n: int = 10_000_000, repeats: int = 3) -> dict:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        # KPIS_DB names a database this benchmark built before, to measure it again
        path = os.environ.get("KPIS_DB") or f"{tmp}/kpis.db"
        t0 = time.perf_counter()
        if not os.path.exists(path):
            build_templates(path)
            built = {"templates_s": round(time.perf_counter() - t0, 1), **grow(path, n)}
        else:
            conn = sqlite3.connect(path)
            built = {
                "cases": conn.execute("SELECT count(*) FROM cases").fetchone()[0],
                "events": conn.execute("SELECT count(*) FROM case_events").fetchone()[0],
                "reused": "a database this benchmark built before (KPIS_DB)",
            }
            conn.close()
        os.environ["CIVICGRID_DATABASE_URL"] = f"sqlite:///{path}"
        from civicgrid.config import get_settings
        from civicgrid.kit import db

        get_settings.cache_clear()
        db.set_engine(None)
        timings, reports = ours(repeats)
        folded = folded_count()
        print("ours:", timings, "folded:", folded, file=sys.stderr)
        floor_s, floor_rows, floor_info = duckdb_floor(path, repeats)
        street = {r["key"]: {k: r[k] for k in SIMPLE_COUNTS} for r in reports["street"]["rows"]}
        floor_rows.pop(None, None)  # cases outside every grid have no street row
        if street != floor_rows:
            diff = {
                k: (street.get(k), floor_rows.get(k))
                for k in street.keys() | floor_rows.keys()
                if street.get(k) != floor_rows.get(k)
            }
            raise AssertionError(f"DuckDB's counts differ from ours: {diff}")
        assert floor_info["events"] == built["events"]
        total = reports["none"]["total"]
        db.set_engine(None)
    slowest = max(timings.values())
    return {
        "name": "KPIs of one month over 10 million cases (SQLite)",
        "build": built,
        "month": [MONTH[0].isoformat(), MONTH[1].isoformat()],
        "month_registered": total["registered"],
        "month_reported": total["reported"],
        "folded_from_events": folded,
        "kpis_s_by_group_by": timings,
        "kpis_s_slowest": slowest,
        "reference_duckdb_scan_s": floor_s,
        "reference_note": "DuckDB, a column store, does other work: a reference, not a floor",
        "ratio_slowest_to_duckdb_reference": round(slowest / floor_s, 2),
        "counts_equal_duckdb": True,
        "repeats": repeats,
        "target_s": 1.0,
        "targets": [
            {
                "target": "a month's KPIs, every group_by, ≤ 1 s over 10 million cases (SQLite)",
                "measured": f"{slowest} s (slowest group_by)",
                "floor": f"none measured; DuckDB reference {floor_s} s (other work)",
                "met": slowest <= 1.0,
            }
        ],
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000), indent=1))
