"""Import speed of `civicgrid import-cases` on SQLite, beside its floor.

The floor is the database alone: the very rows the import writes (cases and events, already
built as tuples) inserted with sqlite3's executemany into the same migrated schema. The import
cannot beat it; the ratio says how much the parsing, checking and projecting cost on top.
"""

from __future__ import annotations

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

from bench.cases_gen import lines  # noqa: E402

UNITS = ["239901001", "239901002"]
BOX = (126.695, 45.70, 126.735, 45.72)


def fresh_db(path: str) -> None:
    os.environ["CIVICGRID_DATABASE_URL"] = f"sqlite:///{path}"
    from civicgrid import db, migrate
    from civicgrid.categories import service as cat
    from civicgrid.config import get_settings
    from civicgrid.geo import service as geo
    from civicgrid.org import service as org

    get_settings.cache_clear()
    db.set_engine(None)
    migrate.upgrade(db.get_engine())
    with db.session_scope() as s:
        cat.import_categories(s, cat.packaged_csv("categories.csv"))
        org.ensure_unit(s, code="239901", name="示例区", kind="district", parent_code=None)
        geo.import_geojson(s, json.loads((ROOT / "tests/data/geo-small.geojson").read_text()))


def run_import(data: list[str]) -> tuple[float, list[tuple], list[tuple]]:
    from civicgrid import db
    from civicgrid.cases import history
    from civicgrid.cases.models import Case

    t0 = time.perf_counter()
    with db.session_scope() as s:
        report = history.import_lines(s, data)
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


def main(n: int = 50_000, repeats: int = 3) -> dict:
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
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000), indent=1))
