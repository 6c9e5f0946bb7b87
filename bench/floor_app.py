"""The intake benchmark's floors, served by `uvicorn bench.floor_app:app` on the same stack
(uvicorn, Starlette, the same workers) as `civicgrid serve`. `FLOOR_DB` is a SQLite file or a
PostgreSQL URL (`FLOOR_SCHEMA` its schema), so that a PostgreSQL run has a PostgreSQL floor.

- `FLOOR_MODE=stack`: the least the stack can do per report — read the form, insert one row
  into one table, answer an id.
- `FLOOR_MODE=rows`: the least the database can do for the SAME work as civicgrid: the same
  rows into the same schema (made by `civicgrid init`, every index included) — the day's
  counter, the case, its events (report, accept, dispatch), its tracking secret and its
  idempotency key — copied from a report civicgrid wrote (`FLOOR_TEMPLATE`, the case's id),
  with the form's place and words, written with the driver's executemany by a group-commit
  thread per worker (as civicgrid's GroupWriter). What it skips is civicgrid's own work: the
  checks, the routing, the ORM, the rendering.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import queue
import sqlite3
import threading
import time
import uuid
from concurrent.futures import Future

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DB = os.environ.get("FLOOR_DB", "")
PG = DB.startswith("postgresql")
MODE = os.environ.get("FLOOR_MODE", "stack")
MAX_BATCH = 64


def connect():
    if PG:
        import psycopg

        schema = os.environ.get("FLOOR_SCHEMA")
        options = f"-c search_path={schema}" if schema else ""
        return psycopg.connect(DB.replace("postgresql+psycopg", "postgresql"), options=options)
    conn = sqlite3.connect(DB, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def mark(sql: str) -> str:
    return sql.replace("?", "%s") if PG else sql


def begin(conn) -> None:
    if not PG:
        conn.execute("BEGIN IMMEDIATE")


def commit(conn) -> None:
    if PG:
        conn.commit()
    else:
        conn.execute("COMMIT")


def rollback(conn) -> None:
    if PG:
        conn.rollback()
    else:
        conn.execute("ROLLBACK")


# --- stack: one row per request ------------------------------------------------------------

_local = threading.local()


def _stack_conn():
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = connect()
        key = "BIGSERIAL" if PG else "INTEGER"
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS reports (id {key} PRIMARY KEY, service_code TEXT, "
            "lat REAL, lon REAL, description TEXT, at REAL)"
        )
        if PG:
            conn.commit()
        _local.conn = conn
    return conn


def _insert_one(code: str, lat: float, lon: float, description: str) -> int:
    conn = _stack_conn()
    begin(conn)
    try:
        cur = conn.execute(
            mark(
                "INSERT INTO reports (service_code, lat, lon, description, at) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id"
            ),
            (code, lat, lon, description, time.time()),
        )
        row_id = cur.fetchone()[0]
    except BaseException:
        rollback(conn)
        raise
    commit(conn)
    return row_id


# --- rows: the same rows as civicgrid, group-committed --------------------------------------


class RowsWriter:
    def __init__(self) -> None:
        self.conn = connect()
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self._load_template(int(os.environ["FLOOR_TEMPLATE"]))
        threading.Thread(target=self._run, name="floor-writer", daemon=True).start()

    def _rows(self, sql: str, args=()) -> list[dict]:
        cur = self.conn.execute(mark(sql), args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def _load_template(self, case_id: int) -> None:
        self.case = self._rows("SELECT * FROM cases WHERE id = ?", (case_id,))[0]
        self.events = self._rows(
            "SELECT * FROM case_events WHERE case_id = ? ORDER BY seq", (case_id,)
        )
        self.secret = self._rows("SELECT * FROM tracking_secrets WHERE case_id = ?", (case_id,))[0]
        self.day = self.case["code"].split("-")[0][-8:]
        self.prefix = self.case["code"][: -len(self.day) - 8]
        for event in self.events:
            event.pop("id")
        if PG:
            self.conn.commit()
        self.case_sql = self._insert_sql("cases", self.case)
        self.event_sql = self._insert_sql("case_events", self.events[0])
        self.secret_sql = self._insert_sql("tracking_secrets", self.secret)
        self.key_sql = mark(
            "INSERT INTO idempotency_keys (key, request_hash, status, answer, created_at) "
            "VALUES (?, ?, ?, ?, ?)"
        )

    @staticmethod
    def _insert_sql(table: str, row: dict) -> str:
        columns = ", ".join(row)
        return mark(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(row))})")

    @staticmethod
    def _value(v):
        if PG and isinstance(v, dict | list):
            from psycopg.types.json import Json

            return Json(v)
        return v

    def _run(self) -> None:
        while True:
            batch = [self.queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                codes = self._write([fields for fields, _f in batch])
            except BaseException as exc:  # noqa: BLE001 - every caller answered
                for _fields, future in batch:
                    future.set_exception(exc)
                continue
            for (_fields, future), code in zip(batch, codes, strict=True):
                future.set_result(code)

    def _write(self, reports: list[tuple]) -> list[str]:
        n = len(reports)
        conn = self.conn
        now = dt.datetime.now(dt.UTC)
        at = now if PG else now.replace(tzinfo=None).isoformat(" ", "microseconds")
        begin(conn)
        try:
            last = conn.execute(
                mark("UPDATE case_counters SET last = last + ? WHERE day = ? RETURNING last"),
                (n, self.day),
            ).fetchone()[0]
            if PG:
                ids = [
                    r[0]
                    for r in conn.execute(
                        "SELECT nextval(pg_get_serial_sequence('cases', 'id')) "
                        "FROM generate_series(1, %s)",
                        (n,),
                    )
                ]
            else:
                top = conn.execute("SELECT coalesce(max(id), 0) FROM cases").fetchone()[0]
                ids = list(range(top + 1, top + n + 1))
            codes = [f"{self.prefix}{self.day}-{last - n + i + 1:06d}" for i in range(n)]
            cases, events, secrets, keys = [], [], [], []
            for (code_, lat, lon, description), case_id, code in zip(
                reports, ids, codes, strict=True
            ):
                row = {**self.case, "id": case_id, "code": code, "lon": lon, "lat": lat}
                row.update(description=description, category_code=code_)
                row.update(reported_at=at, created_at=at, updated_at=at)
                cases.append(tuple(self._value(v) for v in row.values()))
                for event in self.events:
                    e = {**event, "case_id": case_id, "at": at}
                    events.append(tuple(self._value(v) for v in e.values()))
                digest = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
                secrets.append(
                    tuple({**self.secret, "case_id": case_id, "secret_hash": digest}.values())
                )
                answer = {"body": json.dumps([{"service_request_id": code}]), "media_type": "json"}
                keys.append(
                    (
                        f"intake:{uuid.uuid4().hex}",
                        digest,
                        201,
                        self._value(answer) if PG else json.dumps(answer),
                        at,
                    )
                )
            cur = conn.cursor()
            cur.executemany(self.case_sql, cases)
            cur.executemany(self.event_sql, events)
            cur.executemany(self.secret_sql, secrets)
            cur.executemany(self.key_sql, keys)
        except BaseException:
            rollback(conn)
            raise
        commit(conn)
        return codes

    def submit(self, fields: tuple) -> Future:
        future: Future = Future()
        self.queue.put((fields, future))
        return future


_writer: RowsWriter | None = None
_writer_lock = threading.Lock()


def rows_writer() -> RowsWriter:
    global _writer
    with _writer_lock:
        if _writer is None:
            _writer = RowsWriter()
    return _writer


async def post_request(request: Request) -> JSONResponse:
    import asyncio

    from starlette.concurrency import run_in_threadpool

    form = await request.form()
    fields = (
        str(form.get("service_code")),
        float(form.get("lat")),
        float(form.get("long")),
        str(form.get("description") or ""),
    )
    if MODE == "rows":
        code = await asyncio.wrap_future(rows_writer().submit(fields))
        return JSONResponse([{"service_request_id": code}], status_code=201)
    row_id = await run_in_threadpool(_insert_one, *fields)
    return JSONResponse([{"service_request_id": str(row_id)}], status_code=201)


app = Starlette(routes=[Route("/open311/v2/requests.json", post_request, methods=["POST"])])
