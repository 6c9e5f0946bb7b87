"""Metrics in Prometheus format at /metrics, and one JSON log line per request with its id.
Domains add their own series to REGISTRY (cases.metrics), and collectors that read at scrape
time with `register_collector`.

Several worker processes (`civicgrid serve --workers N`) each count their own requests; with
PROMETHEUS_MULTIPROC_DIR set (serve sets it, and empties the directory, before the workers
start) every process writes its counters and histograms to files there, and /metrics, in
whichever worker answers it, adds them all up.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from pathlib import Path

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)

REGISTRY = CollectorRegistry()
LATENCY = Histogram(
    "civicgrid_http_request_duration_seconds",
    "Request latency",
    ["method", "route", "status"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
log = logging.getLogger("civicgrid.request")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Collectors that read their values at scrape time (the database): each process answers them
# itself, they are not summed over the workers.
_scrape_collectors: list = []


def register_collector(collector) -> None:
    """Add a collector whose values are read at each scrape (e.g. from the database)."""
    REGISTRY.register(collector)
    _scrape_collectors.append(collector)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir(path: str | Path) -> Path:
    """Make the directory the workers will write their metrics to, emptied of what earlier
    processes left there (their counts would be added to the new ones), and point this process
    and those it starts at it. Call before the workers start."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def metrics_text() -> bytes:
    """What /metrics answers: this process's series, or every worker's summed in multiprocess
    mode, and the scrape-time collectors."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    for collector in _scrape_collectors:
        registry.register(collector)
    return generate_latest(registry)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging() -> None:
    root = logging.getLogger("civicgrid")
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False


class RequestMiddleware:
    """Pure ASGI: a request id (kept from X-Request-ID or made), the latency histogram, and
    a JSON log line. Streams (server-sent events) are timed to their first byte."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode()[:64] or uuid.uuid4().hex
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            LATENCY.labels(scope["method"], route, str(status["code"])).observe(elapsed)
            log.info(
                "request",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status["code"],
                        "ms": round(elapsed * 1000, 2),
                    }
                },
            )


def install(app: FastAPI) -> None:
    configure_logging()
    app.add_middleware(RequestMiddleware)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(metrics_text(), media_type=CONTENT_TYPE_LATEST)
