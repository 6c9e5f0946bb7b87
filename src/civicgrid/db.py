"""Database engine, sessions and the declarative base.

One transaction per request or CLI command: services flush, the caller commits.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from civicgrid.config import Settings, get_settings

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict: JSON, list: JSON}


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as UTC; SQLite keeps no offset, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        utc = self.process_bind_param

        def process(value):
            # the text SQLAlchemy's SQLite DATETIME stores ("2026-11-25 08:00:00.000000"), made
            # by isoformat in C rather than by a %-format of seven fields: 12 per new case
            value = utc(value, dialect)
            return None if value is None else value.isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# An execution option: a transaction begun on a connection with it only reads
# (session_scope(read_only=True)); on SQLite it takes no write lock.
READ_ONLY = "civicgrid_read_only"
WRITER_WAIT_SECONDS = 30.0


class _WriterLock:
    """SQLite's write lock, queued. SQLite's own busy handler waits by sleeping in growing steps
    (up to 100 ms each), which under steady contention turns a 5 ms transaction into seconds of
    latency (bench/intake.py: p99 of 2 s at two connections). Writers of this process queue on a
    threading lock and are woken at once; writers of other processes (server workers, the CLI)
    queue on an flock of a file beside the database, polled every half millisecond."""

    def __init__(self, db_path: str):
        self.path = f"{db_path}-writer.lock"
        self.thread_lock = threading.Lock()
        self.fd: int | None = None

    @staticmethod
    def _timeout() -> OperationalError:
        return OperationalError("BEGIN IMMEDIATE", None, Exception("writer lock timeout"))

    def acquire(self) -> None:
        if not self.thread_lock.acquire(timeout=WRITER_WAIT_SECONDS):
            raise self._timeout()
        try:
            if self.fd is None:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            deadline = time.monotonic() + WRITER_WAIT_SECONDS
            while True:
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise self._timeout() from None
                    time.sleep(0.0005)
        except BaseException:
            self.thread_lock.release()
            raise

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.thread_lock.release()


class _Checkpointer:
    """SQLite's WAL checkpoints, off the request path. By default the commit that takes the WAL
    past 1,000 pages copies them into the database and syncs it, inside the writer's lock: one
    report in fifty paid for the other forty-nine (a commit's mean 353 µs against a median of
    59 µs, bench/intake.py). Here a thread of each process copies the WAL in the background
    (PASSIVE: beside readers and writers), and once the WAL holds `RESET_FRAMES` it takes the
    writer lock for the last few frames, so that the next writer starts the WAL afresh."""

    INTERVAL = 0.05
    RESET_FRAMES = 4096  # 16 MiB of 4 KiB pages
    NEAR = 256

    def __init__(self, db_path: str, lock: _WriterLock):
        self.path = db_path
        self.lock = lock
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self.started = False
        self._start_lock = threading.Lock()

    def start(self) -> None:
        with self._start_lock:
            if not self.started:
                self.started = True
                self.thread.start()

    def _run(self) -> None:
        conn = None
        while not self.stop.wait(self.INTERVAL):
            try:
                if conn is None:
                    conn = sqlite3.connect(self.path, isolation_level=None)
                    conn.execute("PRAGMA busy_timeout=1000")
                self.checkpoint(conn)
            except (sqlite3.Error, OperationalError, OSError) as exc:
                log.warning("background checkpoint of %s failed: %s", self.path, exc)
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def checkpoint(self, conn: sqlite3.Connection) -> None:
        for _ in range(4):
            _busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if frames - copied < self.NEAR:
                break
        if frames >= self.RESET_FRAMES:
            self.lock.acquire()
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            finally:
                self.lock.release()


class _SqliteConnection(sqlite3.Connection):
    """A pysqlite connection that gives the writer lock back once its transaction has ended."""

    writer_lock: _WriterLock | None = None
    holding = False
    query_only = False

    def acquire_writer(self) -> None:
        if self.writer_lock is not None and not self.holding:
            self.writer_lock.acquire()
            self.holding = True

    def release_writer(self) -> None:
        if self.query_only:
            self.query_only = False
            self.execute("PRAGMA query_only=0")
        if self.holding:
            self.holding = False
            self.writer_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_writer()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_writer()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_writer()


def _reads_only(conn) -> bool:
    return bool(conn.get_execution_options().get(READ_ONLY))


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        on_disk = bool(path) and path != ":memory:"
        if on_disk:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        lock = _WriterLock(path) if on_disk else None
        checkpointer = _Checkpointer(path, lock) if on_disk else None
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": 30,
                "factory": _SqliteConnection,
            },
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # Let SQLAlchemy, not pysqlite, open transactions, and take the write lock at BEGIN
            # so that two writers queue instead of failing on lock upgrade.
            dbapi_conn.isolation_level = None
            dbapi_conn.writer_lock = lock
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages per connection
            if checkpointer is not None:
                checkpointer.start()
                cur.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer's job
                cur.execute(f"PRAGMA journal_size_limit={64 * 1024 * 1024}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            if _reads_only(conn):
                # a reader: WAL lets it run beside the writer; a write in it is a bug, refused
                conn.exec_driver_sql("BEGIN")
                conn.exec_driver_sql("PRAGMA query_only=1")
                conn.connection.dbapi_connection.query_only = True
                return
            dbapi_conn = conn.connection.dbapi_connection
            dbapi_conn.acquire_writer()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_conn.release_writer()
                raise

        if checkpointer is not None:
            weakref.finalize(engine, checkpointer.stop.set)
        return engine
    connect_args = {}
    if settings.database_schema:
        connect_args["options"] = f"-csearch_path={settings.database_schema}"
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)

    @event.listens_for(engine, "begin")
    def _pg_begin(conn):
        if _reads_only(conn):
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")

    return engine


class _State:
    engine: Engine | None = None
    factory: sessionmaker[Session] | None = None
    reader: tuple[Engine, Engine] | None = None


def _reader(engine: Engine) -> Engine:
    """The engine with READ_ONLY set on every connection it gives out."""
    if _state.reader is None or _state.reader[0] is not engine:
        _state.reader = (engine, engine.execution_options(**{READ_ONLY: True}))
    return _state.reader[1]


_state = _State()


def get_engine() -> Engine:
    if _state.engine is None:
        _state.engine = make_engine(get_settings())
        _state.factory = sessionmaker(bind=_state.engine, expire_on_commit=False)
    return _state.engine


def set_engine(engine: Engine | None) -> None:
    """Point the process at another engine (tests, CLI with --database)."""
    _state.engine = engine
    _state.factory = sessionmaker(bind=engine, expire_on_commit=False) if engine else None


def session_factory() -> sessionmaker[Session]:
    get_engine()
    assert _state.factory is not None
    return _state.factory


@contextmanager
def session_scope(*, read_only: bool = False) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on an exception. A read-only
    one refuses writes and, on SQLite, runs beside the writers instead of queuing for the lock."""
    session = session_factory()()
    try:
        if read_only:
            bind = session.get_bind()
            if isinstance(bind, Engine):
                # begins (and takes a connection) only if something is read at all
                session.bind = _reader(bind)
            else:  # bound to a connection (the tests' rolled-back one): mark it now
                session.connection(execution_options={READ_ONLY: True})
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
