"""`make bench`: run the benchmarks and append their results, with the machine's details,
to docs/benchmarks.md. Pass names to run only some: `python -m bench import_cases`."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = {
    "import_cases": ("bench.import_cases", {"n": 90_000}),
    "kpis_month": ("bench.kpis_month", {"n": 10_000_000}),
    "assessment_month": ("bench.assessment_month", {"n": 10_000_000}),
    "intake": ("bench.intake", {}),
    "open311_list": ("bench.open311_list", {"cases": 6000}),
    "gps_ingest": ("bench.gps_ingest", {"batches": 20}),
    "gateway": ("bench.gateway", {"terminals": 1000, "seconds": 60}),
    "vehicle_day": ("bench.vehicle_day", {"fixes": 100_000_000}),
    "coverage_day": ("bench.coverage_day", {"vehicles": 200, "roads": 2000}),
    "snow_event": ("bench.snow_event", {"trucks": 500, "sections": 3000}),
}


def machine() -> str:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    import sqlite3

    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
        or "?"
    )
    # whether the figures are the commit's own: uncommitted changes to tracked files
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    commit += " (DIRTY tree: uncommitted changes)" if changed else " (clean tree)"
    return (
        f"{platform.node()} · {cpu} · {os.cpu_count()} cores · {mem} · "
        f"Python {platform.python_version()} · SQLite {sqlite3.sqlite_version} · "
        f"commit {commit}"
    )


def targets_table(result: dict) -> str:
    """Each target of a result, its measured figure, its floor and whether it is met, as a
    Markdown table (nothing when the benchmark states no target)."""
    rows = result.get("targets") or []
    if not rows:
        return ""
    out = ["| target | measured | floor | met |", "| --- | --- | --- | --- |"]
    for t in rows:
        met = "reported" if t["met"] is None else "yes" if t["met"] else "**no**"
        out.append(f"| {t['target']} | {t['measured']} | {t['floor']} | {met} |")
    return "\n".join(out) + "\n\n"


def main(names: list[str]) -> None:
    import importlib

    chosen = names or list(BENCHMARKS)
    out = ROOT / "docs" / "benchmarks.md"
    out.parent.mkdir(exist_ok=True)
    if not out.exists():
        out.write_text(
            "# Benchmarks\n\nAppended by `make bench`; medians of repeated runs, "
            "each beside its floor measured in the same run.\n",
            encoding="utf-8",
        )
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    lines = [f"\n## {stamp}\n", f"Machine: {machine()}\n"]
    for name in chosen:
        module, kwargs = BENCHMARKS[name]
        result = importlib.import_module(module).main(**kwargs)
        print(json.dumps(result, ensure_ascii=False, indent=1))
        lines.append(f"\n### {result['name']}\n\n{targets_table(result)}")
        lines.append(f"```json\n{json.dumps(result, ensure_ascii=False, indent=1)}\n```\n")
    with out.open("a", encoding="utf-8") as f:
        f.writelines(lines)
    print(f"appended to {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
