"""`civicgrid import-cases` on SQLite: its speed beside its floor, and what it does to the
reports that arrive meanwhile.

The floor is the database alone: the very rows the import writes (cases and events, already
built as tuples) inserted with sqlite3's executemany into the same migrated schema. The import
cannot beat it; the ratio says how much the parsing, checking, projecting, staging and swapping
cost on top.

The concurrency run imports the same file once more into a fresh database while a thread
reports a case through `cases.intake.report` (its own transaction, as a web request would)
every 100 ms. It records every hold of the write lock (how long each transaction of the
import kept it: the staging chunks, the swap, the staging tables' creation and removal) and each
report's latency, and counts the reports refused as busy (WriterBusy: a 503 over HTTP). A
second pass does the same with `--replace` of the whole file over the cases the first imported.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cases_gen import lines  # noqa: E402

UNITS = ["239901001", "239901002"]
BOX = (126.695, 45.70, 126.735, 45.72)
REPORT_EVERY_S = 0.1


def fresh_db(path: str) -> None:
    os.environ["CIVICGRID_DATABASE_URL"] = f"sqlite:///{path}"
    from civicgrid import migrate
    from civicgrid.categories import service as cat
    from civicgrid.config import get_settings
    from civicgrid.geo import service as geo
    from civicgrid.kit import db
    from civicgrid.org import service as org

    get_settings.cache_clear()
    db.set_engine(None)
    migrate.upgrade(db.get_engine())
    with db.session_scope() as s:
        cat.import_categories(s, cat.packaged_csv("categories.csv"))
        org.ensure_unit(s, code="239901", name="示例区", kind="district", parent_code=None)
        geo.import_geojson(s, json.loads((ROOT / "tests/data/geo-small.geojson").read_text()))


def run_import(data: list[str]) -> tuple[float, list[tuple], list[tuple]]:
    from civicgrid.cases import history
    from civicgrid.cases.models import Case
    from civicgrid.kit import db

    t0 = time.perf_counter()
    report = history.import_lines(data)
    assert report.imported == len(data)
    elapsed = time.perf_counter() - t0
    with db.get_engine().connect() as conn:
        cases = [tuple(r) for r in conn.execute(Case.__table__.select())]
        events = [
            tuple(r)[1:] for r in conn.exec_driver_sql("SELECT * FROM case_events ORDER BY id")
        ]
    return elapsed, cases, events


def floor(path: str, cases: list[tuple], events: list[tuple]) -> float:
    """The same rows straight into an empty copy of the schema with sqlite3."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-65536")
    from civicgrid.cases.models import Case

    # the rows are in the model's column order, which need not be the table's
    case_names = [c.name for c in Case.__table__.columns]
    event_cols = [r[1] for r in conn.execute("PRAGMA table_info(case_events)")][1:]
    rows_c = [tuple(str(v) if hasattr(v, "isoformat") else v for v in r) for r in cases]
    rows_e = [
        tuple(
            str(v) if hasattr(v, "isoformat") else json.dumps(v) if isinstance(v, dict) else v
            for v in r
        )
        for r in events
    ]
    t0 = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        f"INSERT INTO cases ({','.join(case_names)}) VALUES ({','.join('?' * len(case_names))})",
        rows_c,
    )
    conn.executemany(
        f"INSERT INTO case_events ({','.join(event_cols)}) "
        f"VALUES ({','.join('?' * len(event_cols))})",
        rows_e,
    )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


class HoldClock:
    """Times every hold of the SQLite write lock, by thread: wraps db._WriterLock for the run
    (a benchmark's instrument, not the product's)."""

    def __init__(self):
        from civicgrid.kit import db

        self.lock_class = db._WriterLock
        self.holds: dict[str, list[float]] = {}
        self._since: dict[int, float] = {}

    def __enter__(self):
        acquire, release = self.lock_class.acquire, self.lock_class.release
        clock = self

        def timed_acquire(lock):
            acquire(lock)
            clock._since[threading.get_ident()] = time.perf_counter()

        def timed_release(lock):
            since = clock._since.pop(threading.get_ident(), None)
            if since is not None:  # else taken before the clock started
                held = time.perf_counter() - since
                clock.holds.setdefault(threading.current_thread().name, []).append(held)
            release(lock)

        self._saved = acquire, release
        self.lock_class.acquire, self.lock_class.release = timed_acquire, timed_release
        return self

    def __exit__(self, *exc):
        self.lock_class.acquire, self.lock_class.release = self._saved


def report_meanwhile(stop: threading.Event, latencies: list[float], busy: list[float]) -> None:
    """A case reported every 100 ms, each in its own transaction (as a request's)."""
    from civicgrid.cases import intake, policy
    from civicgrid.config import get_settings
    from civicgrid.kit import db

    settings = get_settings()
    i = 0
    while not stop.is_set():
        started = time.perf_counter()
        try:
            with db.session_scope() as s:
                intake.report(
                    s,
                    settings,
                    source="supervisor",
                    category="06010",
                    actor=policy.Actor("bench", "supervisor"),
                    lon=BOX[0] + (BOX[2] - BOX[0]) * (i % 97) / 97,
                    lat=BOX[1] + (BOX[3] - BOX[1]) * (i % 89) / 89,
                    description="导入期间的上报",
                )
            latencies.append(time.perf_counter() - started)
        except db.WriterBusy:
            busy.append(time.perf_counter() - started)
        i += 1
        stop.wait(max(0.0, REPORT_EVERY_S - (time.perf_counter() - started)))


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def concurrent_pass(data: list[str], *, replace: bool) -> dict:
    """One import of `data` with the reporting thread running; holds and latencies."""
    from civicgrid.cases import history
    from civicgrid.config import get_settings

    latencies: list[float] = []
    busy: list[float] = []
    stop = threading.Event()
    reporter = threading.Thread(
        target=report_meanwhile, args=(stop, latencies, busy), name="reporter"
    )
    with HoldClock() as clock:
        reporter.start()
        time.sleep(1.0)  # a few reports before the import starts
        t0 = time.perf_counter()
        report = history.import_lines(data, replace=replace)
        elapsed = time.perf_counter() - t0
        time.sleep(0.5)
        stop.set()
        reporter.join()
    assert report.imported == len(data) and report.replaced == (len(data) if replace else 0)
    holds = sorted(clock.holds.get("MainThread", []), reverse=True)
    return {
        "import_s": round(elapsed, 3),
        "import_transactions": len(holds),
        "longest_hold_ms": _ms(holds[0]),
        "second_longest_hold_ms": _ms(holds[1]),
        "holds_total_s": round(sum(holds), 3),
        "reports": len(latencies) + len(busy),
        "reports_busy_503": len(busy),
        "report_p50_ms": _ms(statistics.median(latencies)),
        "report_p99_ms": _ms(_percentile(latencies, 0.99)),
        "report_max_ms": _ms(max(latencies)),
        "write_wait_seconds": get_settings().write_wait_seconds,
    }


def main(n: int = 90_000, repeats: int = 3) -> dict:
    data = list(lines(n, UNITS, BOX))
    n_events = sum(len(json.loads(x)["events"]) for x in data[:2000]) / 2000
    imports, floors = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            fresh_db(f"{tmp}/a.db")
            elapsed, cases, events = run_import(data)
            imports.append(elapsed)
            fresh_db(f"{tmp}/b.db")
            floors.append(floor(f"{tmp}/b.db", cases, events))
    with tempfile.TemporaryDirectory() as tmp:
        fresh_db(f"{tmp}/c.db")
        concurrent = {
            "new": concurrent_pass(data, replace=False),
            "replace": concurrent_pass(data, replace=True),
        }
    imp, flo = statistics.median(imports), statistics.median(floors)
    return {
        "name": "import-cases (SQLite)",
        "cases": n,
        "events_per_case": round(n_events, 2),
        "import_s": round(imp, 3),
        "import_cases_per_s": round(n / imp),
        "floor_s": round(flo, 3),
        "floor_cases_per_s": round(n / flo),
        "ratio_import_to_floor": round(imp / flo, 2),
        "repeats": repeats,
        "target_cases_per_s": 20_000,
        "with_a_report_every_100ms": concurrent,
        "targets": [
            {
                "target": "import-cases ≥ 20,000 cases/s (SQLite)",
                "measured": f"{round(n / imp)} cases/s",
                "floor": f"{round(n / flo)} cases/s (the same rows, sqlite3 executemany)",
                "met": n / imp >= 20_000,
            }
        ],
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 90_000), indent=1))
