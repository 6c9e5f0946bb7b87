"""Test set-up: a real database (SQLite by default, PostgreSQL when CIVICGRID_TEST_DATABASE_URL
names one), migrated once with Alembic; every test runs in a transaction rolled back at its end."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from civicgrid import migrate
from civicgrid.categories import service as cat_service
from civicgrid.config import Settings, get_settings
from civicgrid.geo.index import index as geo_index
from civicgrid.kit import db

DATA = Path(__file__).parent / "data"
# long enough for every mode (a test may switch to development or production)
TEST_SECRET = "test-secret-of-the-test-suite-0123456789"
_tmp = tempfile.mkdtemp(prefix="civicgrid-test-")
DB_URL = os.environ.get("CIVICGRID_TEST_DATABASE_URL") or f"sqlite:///{_tmp}/test.db"
IS_PG = DB_URL.startswith("postgresql")
SCHEMA = f"t_{uuid.uuid4().hex[:10]}" if IS_PG else None

os.environ["CIVICGRID_DATABASE_URL"] = DB_URL
os.environ["CIVICGRID_MODE"] = "test"
os.environ["CIVICGRID_SECRET_KEY"] = TEST_SECRET
os.environ["CIVICGRID_MEDIA_DIR"] = f"{_tmp}/media"
# The suite's citizen reports mostly carry a category and a point, no photo or words: the
# phone page's required fields (report_requires) are tested where they are the subject
# (tests/citizen/test_nearby.py and the phone's browser test set the default back).
os.environ["CIVICGRID_REPORT_REQUIRES"] = ""
if SCHEMA:
    os.environ["CIVICGRID_DATABASE_SCHEMA"] = SCHEMA
get_settings.cache_clear()


def _settings() -> Settings:
    return Settings(
        database_url=DB_URL, database_schema=SCHEMA, mode="test", secret_key=TEST_SECRET
    )


@pytest.fixture(scope="session")
def engine():
    if IS_PG:
        admin = db.make_engine(Settings(database_url=DB_URL, mode="test"))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
        admin.dispose()
    engine = db.make_engine(_settings())
    migrate.upgrade(engine)
    factory = sessionmaker(bind=engine)
    with factory() as session:
        cat_service.import_categories(session, cat_service.packaged_csv("categories.csv"))
        cat_service.import_limits(session, cat_service.packaged_csv("time-limits.csv"))
        session.commit()
    yield engine
    engine.dispose()
    if IS_PG:
        admin = db.make_engine(Settings(database_url=DB_URL, mode="test"))
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{SCHEMA}" CASCADE'))
        admin.dispose()


@pytest.fixture()
def session(engine) -> Iterator[Session]:
    """A session whose commits are savepoints inside one transaction rolled back at the end;
    the app and the CLI helpers use the same connection."""
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    db._state.engine, db._state.factory = engine, factory
    geo_index.loaded = False
    s = factory()
    try:
        yield s
    finally:
        s.close()
        outer.rollback()
        connection.close()
        db.set_engine(None)
        geo_index.loaded = False


# vehicle_types, notice_kinds and snow_limits: seeded by their migrations, as the catalogue is
# by the engine fixture
TABLES_KEPT = {
    "categories",
    "time_limits",
    "alembic_version",
    "vehicle_types",
    "notice_kinds",
    "snow_limits",
}


@pytest.fixture()
def committed(engine) -> Iterator[sessionmaker]:
    """Real commits on separate connections (for concurrency tests); every table but the
    catalogue is emptied afterwards."""
    db.set_engine(engine)
    geo_index.loaded = False
    try:
        yield db.session_factory()
    finally:
        with engine.begin() as conn:
            for table in reversed(db.Base.metadata.sorted_tables):
                if table.name not in TABLES_KEPT:
                    conn.execute(table.delete())
        db.set_engine(None)
        geo_index.loaded = False


@pytest.fixture(autouse=True)
def _fresh_settings():
    """Tests may change CIVICGRID_* variables: no settings (and no rate-limit window, which
    counts every report from the test client's address, and no cached reference data, which a
    rolled-back test may have read) outlive a test."""
    from civicgrid.kit import refcache
    from civicgrid.kit.ratelimit import _memory

    get_settings.cache_clear()
    _memory.reset()
    refcache.clear()
    yield
    get_settings.cache_clear()
    _memory.reset()
    refcache.clear()


@pytest.fixture()
def app(session):
    from civicgrid.app import create_app

    return create_app()


@pytest.fixture()
def client(app) -> Iterator[TestClient]:
    """A client that behaves as the site's own pages in a browser: its unsafe requests carry
    the site's Origin (kit.guard refuses cross-site ones)."""
    with TestClient(app, headers={"Origin": "http://testserver"}) as c:
        yield c


def free_port() -> int:
    """A local TCP port nothing listens on now (the kernel's choice): no test assumes one."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server():
    """The real app served by uvicorn on a free local port, in a thread (for clients that
    speak HTTP themselves: browsers, independent API clients)."""
    import threading

    import uvicorn

    from civicgrid.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


REDIS_MISSING = (
    "redis-server not found: the Redis tests start Debian's redis-server themselves. "
    "`make test` installs it when run as root; otherwise: sudo apt-get install -y redis-server"
)


def redis_server_binary() -> str:
    """Debian's redis-server (on PATH, or in /usr/bin for a PATH without it); a failure that
    says how to install it, never a skip, when it is missing."""
    binary = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/bin:/usr/sbin")
    if binary is None:
        pytest.fail(REDIS_MISSING, pytrace=False)
    return binary


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a Redis server of the suite's own: Debian's redis-server on a free local port,
    keeping nothing on disk (in a temporary directory), stopped when the session ends. Requested
    only by the tests of the Redis transports, so that a run without them starts none."""
    binary = redis_server_binary()
    workdir = Path(tempfile.mkdtemp(prefix="civicgrid-redis-"))
    try:
        proc, url = _start_redis(binary, workdir)
        try:
            yield url
        finally:
            _stop(proc)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _start_redis(binary: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    import redis

    log = workdir / "redis.log"
    # Another process may take the chosen port before Redis binds it: then Redis exits, and
    # another port is tried.
    for _ in range(3):
        port = free_port()
        options = {
            "port": port,
            "bind": "127.0.0.1",
            "save": "",  # no snapshots and no append-only file: nothing kept on disk
            "appendonly": "no",
            "daemonize": "no",
            "dir": workdir,
            "logfile": log,
        }
        args = [binary, *(a for k, v in options.items() for a in (f"--{k}", str(v)))]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + 15
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    client.ping()
                    return proc, f"redis://127.0.0.1:{port}/0"
                except redis.ConnectionError:
                    time.sleep(0.05)
        finally:
            client.close()
        _stop(proc)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    pytest.fail(f"redis-server ({binary}) did not answer on a local port:\n{tail}", pytrace=False)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
