"""The intake benchmark's floor: the least a server on the same stack (uvicorn, Starlette, the
same workers) can do per report — read the form, insert one row into SQLite (WAL, the same
pragmas as civicgrid), answer an id. Served by `uvicorn bench.floor_app:app`."""

from __future__ import annotations

import os
import sqlite3
import threading
import time

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_local = threading.local()


def _conn() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(os.environ["FLOOR_DB"], isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS reports (id INTEGER PRIMARY KEY, service_code TEXT, "
            "lat REAL, lon REAL, description TEXT, at REAL)"
        )
        _local.conn = conn
    return conn


def _insert(code: str, lat: float, lon: float, description: str) -> int:
    conn = _conn()
    conn.execute("BEGIN IMMEDIATE")
    try:
        cur = conn.execute(
            "INSERT INTO reports (service_code, lat, lon, description, at) VALUES (?, ?, ?, ?, ?)",
            (code, lat, lon, description, time.time()),
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return cur.lastrowid


async def post_request(request: Request) -> JSONResponse:
    form = await request.form()
    row_id = await run_in_threadpool(
        _insert,
        str(form.get("service_code")),
        float(form.get("lat")),
        float(form.get("long")),
        str(form.get("description") or ""),
    )
    return JSONResponse([{"service_request_id": str(row_id)}], status_code=201)


app = Starlette(routes=[Route("/open311/v2/requests.json", post_request, methods=["POST"])])
