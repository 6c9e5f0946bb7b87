"""Intake: Open311 reports per second into `civicgrid serve`, beside a floor on the same stack.

The server is started as a user would start it (`civicgrid serve --workers 2`, production mode,
the Xiangfang demo loaded), on SQLite (WAL) and on PostgreSQL. wrk, a separate process, POSTs
`/open311/v2/requests.json` with realistic reports: random points in the demo district's grids,
categories weighted as bench.cases_gen weights them, and in the photo run 30 % carrying a
200 KB JPEG. The load is raised step by step (1, 2, 4 … 32 connections); each step records the
throughput and the p50/p95/p99 latency of request → answer, which is request → dispatched case
since routing is synchronous. Every answer must be a 201; the cases are counted afterwards.

The floors, on the same database as the run they stand beside (bench/floor_app.py, a Starlette
app on the same uvicorn with the same workers): `stack`, one row per request (what the stack
costs), and `rows`, the same rows civicgrid writes for a report (counter, case, its three
events, tracking secret, idempotency key) into the same schema with the driver's executemany
and group commit (what the database costs for the same work). The targets are judged against
the `rows` floor.

Open311 clients with an api_key have no per-address limit (one partner server posts for many
citizens); the per-phone limit is raised for the run, though the reports carry no phone.
"""

from __future__ import annotations

import io
import json
import os
import random
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cases_gen import CATEGORIES, WEIGHTS  # noqa: E402

BIN = Path(sys.executable).parent
STEPS = (1, 2, 4, 8, 16, 32)
SECONDS = 8
WORKERS = 2
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"  # the same, for psycopg itself
BOUNDARY = "civicgridbenchboundary"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def photo_jpeg(path: Path, target: int = 200_000) -> int:
    """A real JPEG of about `target` bytes (a noisy street-like gradient)."""
    from PIL import Image

    rng = random.Random(3)
    side = 420
    while True:
        img = Image.new("RGB", (side * 4 // 3, side))
        img.putdata(
            [
                (x % 256, (y * 2) % 256, rng.randrange(256))
                for y in range(side)
                for x in range(side * 4 // 3)
            ]
        )
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85)
        if buf.tell() >= target * 0.95:
            path.write_bytes(buf.getvalue())
            return buf.tell()
        side += 40


def district_points(db_path: str, n: int, seed: int = 5) -> list[tuple[float, float]]:
    """n random points, each inside a random grid of the demo district."""
    from shapely import Point, wkb

    conn = sqlite3.connect(db_path)
    grids = [wkb.loads(g) for (g,) in conn.execute("SELECT wkb FROM areas WHERE level='grid'")]
    conn.close()
    rng = random.Random(seed)
    points = []
    while len(points) < n:
        g = rng.choice(grids)
        x0, y0, x1, y1 = g.bounds
        for _ in range(50):
            x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
            if g.contains(Point(x, y)):
                points.append((round(x, 7), round(y, 7)))
                break
    return points


def lua_string(text: str) -> str:
    out = []
    for b in text.encode("utf-8"):
        ch = chr(b)
        out.append(ch if 32 <= b < 127 and ch not in '"\\' else f"\\{b:03d}")
    return '"' + "".join(out) + '"'


def required_attributes(base: str) -> dict[str, dict[str, str]]:
    """Per category, a value for each required Open311 attribute (from its definition)."""
    out: dict[str, dict[str, str]] = {}
    for code in CATEGORIES:
        with urllib.request.urlopen(f"{base}/open311/v2/services/{code}.json") as r:
            definition = json.load(r)
        out[code] = {
            f"attribute[{a['code']}]": a["values"][0]["key"] if a.get("values") else "1"
            for a in definition.get("attributes", [])
            if a.get("required")
        }
    return out


def write_data(
    path: Path,
    points,
    api_key: str | None,
    photo: Path | None,
    share: float,
    attributes: dict[str, dict[str, str]] | None = None,
) -> None:
    rng = random.Random(9)
    lines = ["return {", '  path = "/open311/v2/requests.json",']
    if photo:
        lines.append(f"  photo_path = {lua_string(str(photo))},")
    lines.append("  reports = {")
    for i, (lon, lat) in enumerate(points):
        fields = {
            "service_code": rng.choices(CATEGORIES, WEIGHTS)[0],
            "lat": str(lat),
            "long": str(lon),
            "description": f"基准测试上报 {i}：路面有问题，请处理",
            "device_id": f"bench-{i % 97}",
        }
        fields.update((attributes or {}).get(fields["service_code"], {}))
        if api_key:
            fields["api_key"] = api_key
        if photo and rng.random() < share:
            parts = "".join(
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                for k, v in fields.items()
            )
            lines.append(f"    {{photo = true, multipart = {lua_string(parts)}}},")
        else:
            lines.append(f"    {{form = {lua_string(urllib.parse.urlencode(fields))}}},")
    lines += ["  },", "}"]
    path.write_text("\n".join(lines), encoding="utf-8")


def wait_ready(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server not ready at {url}")


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        cmd, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wrk(base: str, data: Path, connections: int) -> dict:
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{SECONDS}s",
            "--timeout",
            "10s",
            "-s",
            str(ROOT / "bench" / "intake.lua"),
            base,
        ],
        env={
            **os.environ,
            "INTAKE_DATA": str(data),
            "INTAKE_HOST": urllib.parse.urlsplit(base).netloc,
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    r = json.loads(line[len("RESULT ") :])
    seconds = r["duration_us"] / 1e6
    errors = sum(r[k] for k in ("status_errors", "connect_errors", "read_errors", "timeouts"))
    return {
        "connections": connections,
        "requests": r["requests"],
        "per_s": round(r["requests"] / seconds, 1),
        "p50_ms": r["p50_us"] / 1000,
        "p95_ms": r["p95_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "errors": errors,
    }


def server_cpu_seconds(group: int) -> float:
    """CPU time (user + system) used so far by the processes of a server's process group."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def ramp(base: str, data: Path, group: int) -> dict:
    """The steps of rising concurrency; each also says how much CPU the server spent per
    request (a figure less shaken than throughput by what else the machine is doing)."""
    steps = []
    for c in STEPS:
        before = server_cpu_seconds(group)
        step = wrk(base, data, c)
        spent = server_cpu_seconds(group) - before
        step["server_cpu_ms_per_request"] = round(spent * 1000 / max(step["requests"], 1), 3)
        steps.append(step)
    within = [s for s in steps if s["p99_ms"] <= 50 and not s["errors"]]
    return {
        "steps": steps,
        "best_per_s_p99_within_50ms": max((s["per_s"] for s in within), default=0),
        "max_per_s": max(s["per_s"] for s in steps),
        "server_cpu_ms_per_request_median": statistics.median(
            s["server_cpu_ms_per_request"] for s in steps
        ),
        "requests": sum(s["requests"] for s in steps),
        "errors": sum(s["errors"] for s in steps),
    }


def cli(env: dict, *args: str) -> str:
    return subprocess.run(
        [str(BIN / "civicgrid"), *args], env=env, capture_output=True, text=True, check=True
    ).stdout


def prepare(env: dict) -> str:
    cli(env, "init")
    cli(env, "demo", "--cases", "0")
    out = cli(env, "apikey", "add", "bench")
    return out.strip().split()[-1]


def count_cases(env: dict) -> int:
    code = (
        "from sqlalchemy import func, select\n"
        "from civicgrid.kit import db\n"
        "from civicgrid.cases.models import Case\n"
        "with db.session_scope() as s:\n"
        "    print(s.scalar(select(func.count()).select_from(Case).where(Case.source == 'open311')"
        ".where(Case.state == 'dispatched')))\n"
    )
    return int(
        subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout
    )


def run_ours(tmp: Path, db: str, points, photo: Path) -> dict:
    env = {
        **os.environ,
        "CIVICGRID_MODE": "production",
        "CIVICGRID_SECRET_KEY": secrets.token_hex(32),
        "CIVICGRID_ALLOWED_HOSTS": "127.0.0.1",
        "CIVICGRID_MEDIA_DIR": str(tmp / f"media-{db}"),
        "CIVICGRID_REPORTS_PER_HOUR_PER_PHONE": "100000000",
    }
    schema = None
    if db == "sqlite":
        env["CIVICGRID_DATABASE_URL"] = f"sqlite:///{tmp}/intake.db"
    else:
        schema = pg_schema("bench")
        env["CIVICGRID_DATABASE_URL"] = PG_URL
        env["CIVICGRID_DATABASE_SCHEMA"] = schema
    try:
        key = prepare(env)
        port = free_port()
        proc = start(
            [
                str(BIN / "civicgrid"),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(WORKERS),
            ],
            env,
            tmp / f"server-{db}.log",
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base + "/readyz", proc)
            plain, with_photos = tmp / f"plain-{db}.lua", tmp / f"photos-{db}.lua"
            attributes = required_attributes(base)
            write_data(plain, points, key, None, 0, attributes)
            write_data(with_photos, points, key, photo, 0.3, attributes)
            result = {
                "no_photos": ramp(base, plain, proc.pid),
                "photos_30pct": ramp(base, with_photos, proc.pid),
            }
        finally:
            stop(proc)
        acknowledged = sum(r["requests"] - r["errors"] for r in result.values())
        result["dispatched_cases_counted"] = count_cases(env)
        result["acknowledged"] = acknowledged
        return result
    finally:
        if schema:
            drop_schema(schema)


TEMPLATE = """
import sys
from civicgrid.citizen import service
from civicgrid.config import get_settings
from civicgrid.kit import db
with db.session_scope() as s:
    done = service.submit(
        s, get_settings(), category=sys.argv[1], source="open311", lon=float(sys.argv[2]),
        lat=float(sys.argv[3]), description="floor template", extra={"device_id": "bench-0"},
        find_duplicates=False,
    )
    print(done.case.id, done.case.state)
"""


def pg_schema(prefix: str) -> str:
    import psycopg

    schema = f"{prefix}_{secrets.token_hex(5)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    return schema


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run_floor(tmp: Path, points, db: str, mode: str) -> dict:
    """A floor (bench/floor_app.py) on `db`: `stack` (one row per request) or `rows` (the same
    rows as civicgrid into the same schema, group-committed with executemany)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FLOOR_MODE": mode}
    schema = None
    if db == "sqlite":
        env["FLOOR_DB"] = str(tmp / f"floor-{mode}.db")
        app_env = {**os.environ, "CIVICGRID_DATABASE_URL": f"sqlite:///{env['FLOOR_DB']}"}
    else:
        schema = pg_schema(f"floor_{mode}")
        env["FLOOR_DB"], env["FLOOR_SCHEMA"] = PG_URL, schema
        app_env = {
            **os.environ,
            "CIVICGRID_DATABASE_URL": PG_URL,
            "CIVICGRID_DATABASE_SCHEMA": schema,
        }
    template = None
    try:
        if mode == "rows":
            # the schema as `civicgrid init` makes it, and one report civicgrid wrote: its rows
            # are what the floor writes again for every request
            app_env["CIVICGRID_MEDIA_DIR"] = str(tmp / f"media-floor-{db}")
            prepare(app_env)
            lon, lat = points[0]
            out = subprocess.run(
                [sys.executable, "-c", TEMPLATE, CATEGORIES[0], str(lon), str(lat)],
                env=app_env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            env["FLOOR_TEMPLATE"], template = out[0], out[1]
        port = free_port()
        proc = start(
            [
                str(BIN / "uvicorn"),
                "bench.floor_app:app",
                "--port",
                str(port),
                "--workers",
                str(WORKERS),
                "--log-level",
                "warning",
            ],
            env,
            tmp / f"floor-{mode}-{db}.log",
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
            data = tmp / f"floor-{mode}-{db}.lua"
            write_data(data, points, None, None, 0)
            result = {"no_photos": ramp(base, data, proc.pid)}
            if template:
                result["template_state"] = template  # dispatched: report, accept, dispatch
            return result
        finally:
            stop(proc)
    finally:
        if schema:
            drop_schema(schema)


def main(databases: tuple[str, ...] = ("sqlite", "postgresql")) -> dict:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        photo = tmp / "photo.jpg"
        photo_bytes = photo_jpeg(photo)
        # the demo geography, once, to draw the points from
        env = {**os.environ, "CIVICGRID_DATABASE_URL": f"sqlite:///{tmp}/points.db"}
        cli(env, "init")
        cli(env, "demo", "--cases", "0")
        points = district_points(f"{tmp}/points.db", 2000)
        floors = {
            db: {mode: run_floor(tmp, points, db, mode) for mode in ("stack", "rows")}
            for db in databases
        }
        ours = {db: run_ours(tmp, db, points, photo) for db in databases}
    targets = []
    for db, r in ours.items():
        best = r["no_photos"]["best_per_s_p99_within_50ms"]
        rows_floor = floors[db]["rows"]["no_photos"]["max_per_s"]
        targets.append(
            {
                "target": f"intake ({db}): ≥ 1000 reports/s without photos at p99 ≤ 50 ms",
                "measured": f"{best}/s",
                "floor": f"{floors[db]['rows']['no_photos']['best_per_s_p99_within_50ms']}/s "
                "(same rows, executemany, group commit)",
                "met": best >= 1000,
            }
        )
        errors = r["no_photos"]["errors"]
        targets.append(
            {
                "target": f"intake ({db}): ≥ half the same-rows floor's throughput, no errors",
                "measured": f"{r['no_photos']['max_per_s']}/s, {errors} errors",
                "floor": f"{rows_floor}/s",
                "met": r["no_photos"]["max_per_s"] >= rows_floor / 2 and not errors,
            }
        )
    return {
        "name": "Open311 intake (civicgrid serve, 2 workers) beside floors on the same database",
        "photo_bytes": photo_bytes,
        "seconds_per_step": SECONDS,
        "floors": floors,
        **{f"civicgrid_{db}": r for db, r in ours.items()},
        "ratio_to_rows_floor_no_photos_max": {
            db: round(r["no_photos"]["max_per_s"] / floors[db]["rows"]["no_photos"]["max_per_s"], 3)
            for db, r in ours.items()
        },
        "ratio_to_stack_floor_no_photos_max": {
            db: round(
                r["no_photos"]["max_per_s"] / floors[db]["stack"]["no_photos"]["max_per_s"], 3
            )
            for db, r in ours.items()
        },
        "targets": targets,
    }


if __name__ == "__main__":
    print(json.dumps(main(tuple(sys.argv[1:]) or ("sqlite", "postgresql")), indent=1))
