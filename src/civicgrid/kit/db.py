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
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import JSON, BigInteger, DateTime, MetaData, Table, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import TypeDecorator

from civicgrid.config import Settings, get_settings
from civicgrid.kit.errors import ServiceBusy

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


class epoch_seconds(FunctionElement):  # noqa: N801 - reads as the SQL function it is
    """A UTCDateTime column as whole seconds since the epoch, computed by the database (a
    long read of times, such as a vehicle-day's fixes, then makes no datetime per row)."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds)
def _epoch_default(element, compiler, **kw):
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(Table, "sqlite")
def _sqlite_table(table, compiler, **kw):
    """A table in FROM with its `with_hint(table, "INDEXED BY ix", dialect_name="sqlite")`,
    which SQLite's compiler would drop: SQLite's own way to name the index a join must use."""
    text = compiler.visit_table(table, **kw)
    hint = (kw.get("fromhints") or {}).get(table)
    return f"{text} {hint}" if hint and kw.get("asfrom") else text


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# An execution option: a transaction begun on a connection with it only reads
# (session_scope(read_only=True)); on SQLite it takes no write lock.
READ_ONLY = "civicgrid_read_only"

# How long a writer begun in this context waits for the write lock, when not the engine's
# setting (write_wait_seconds): the command line waits longer than a web request.
_write_wait: ContextVar[float | None] = ContextVar("civicgrid_write_wait", default=None)


@contextmanager
def write_wait(seconds: float) -> Iterator[None]:
    """Transactions begun in this block (this thread or task) wait at most `seconds` for the
    write lock (SQLite) or any lock (PostgreSQL's lock_timeout), then raise WriterBusy."""
    token = _write_wait.set(max(seconds, 0.0))
    try:
        yield
    finally:
        _write_wait.reset(token)


class WriterBusy(ServiceBusy):
    """No write could start in time: another writer (an import's swap, a burst of reports) held
    the lock. A 503 with Retry-After, not a 500: the request was fine and may simply be sent
    again."""

    def __init__(self, waited: float):
        super().__init__(
            f"系统繁忙: {waited:g} 秒内未能开始写入, 请稍后重试",
            f"the database is busy: no write could start within {waited:g} s; try again shortly",
        )


class _WriterLock:
    """SQLite's write lock, queued. SQLite's own busy handler waits by sleeping in growing steps
    (up to 100 ms each), which under steady contention turns a 5 ms transaction into seconds of
    latency (bench/intake.py: p99 of 2 s at two connections). Writers of this process queue on a
    threading lock and are woken at once; writers of other processes (server workers, the CLI)
    queue on an flock of a file beside the database, polled every half millisecond. A writer
    waits at most `wait` seconds in all (write_wait overrides it), then gets WriterBusy."""

    def __init__(self, db_path: str, wait: float):
        self.path = f"{db_path}-writer.lock"
        self.wait = wait
        self.thread_lock = threading.Lock()
        self.fd: int | None = None

    def acquire(self) -> None:
        wait = _write_wait.get()
        wait = self.wait if wait is None else wait
        deadline = time.monotonic() + wait
        if not self.thread_lock.acquire(timeout=wait):
            raise WriterBusy(wait)
        try:
            if self.fd is None:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            while True:
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise WriterBusy(wait) from None
                    time.sleep(0.0005)
        except BaseException:
            self.thread_lock.release()
            raise

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.thread_lock.release()


def _lock_timed_out(exc: BaseException) -> bool:
    """A driver error that means "the lock stayed taken": PostgreSQL's lock_timeout (55P03), or
    SQLite's busy timeout (a writer outside this lock protocol, e.g. the sqlite3 shell)."""
    if getattr(exc, "sqlstate", None) == "55P03":
        return True
    return isinstance(exc, sqlite3.OperationalError) and (
        getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY
    )


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
            try:
                self.lock.acquire()
            except WriterBusy:
                return  # a long writer (an import's swap): the next round finishes the job
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            finally:
                self.lock.release()


# A statement that begins with one of these only reads; any other (INSERT, UPDATE, DELETE, DDL,
# SAVEPOINT, a WITH that may hide a write ...) begins the writing transaction first.
_READS = ("SELECT", "PRAGMA", "EXPLAIN")


class _SqliteConnection(sqlite3.Connection):
    """A pysqlite connection that takes the writer lock at its transaction's first write and
    gives it back once the transaction has ended."""

    writer_lock: _WriterLock | None = None
    holding = False
    query_only = False

    def acquire_writer(self) -> None:
        if self.writer_lock is not None and not self.holding:
            self.writer_lock.acquire()
            self.holding = True

    def begin_writing(self) -> None:
        """Queue for the writer lock and BEGIN IMMEDIATE, unless a transaction is open already
        (this one's first write came earlier, or it is a reader's)."""
        if self.in_transaction or self.query_only:
            return
        self.acquire_writer()
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.release_writer()
            raise

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
        lock = _WriterLock(path, settings.write_wait_seconds) if on_disk else None
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
                conn.connection.dbapi_connection.query_only = True  # (first: not a writer's BEGIN)
                conn.exec_driver_sql("BEGIN")
                conn.exec_driver_sql("PRAGMA query_only=1")
            # A transaction that may write begins at its first write (below), not here: what
            # it reads before (who signs in, the checks and a password's argon2 hash, 150 ms)
            # holds no lock, each statement seeing the latest commit, as PostgreSQL's READ
            # COMMITTED does. From the first write on it is one transaction under the writer
            # lock, queued rather than failing on a lock upgrade. Where reads must see no
            # concurrent write before the write (a count of attempts), `write_now` starts it.

        @event.listens_for(engine, "before_cursor_execute")
        def _sqlite_first_write(conn, _cursor, statement, _params, _context, _many):
            dbapi_conn = conn.connection.dbapi_connection
            if dbapi_conn.in_transaction or dbapi_conn.query_only:
                return
            if statement.lstrip()[:7].upper().startswith(_READS):
                return
            dbapi_conn.begin_writing()

        if checkpointer is not None:
            weakref.finalize(engine, checkpointer.stop.set)
        _raise_busy_on_lock_timeout(engine, settings.write_wait_seconds)
        return engine
    # Every lock wait is bounded (lock_timeout), as SQLite's writer lock is: a request that
    # cannot get a row or table lock in time is answered 503, not left hanging.
    options = [f"-c lock_timeout={max(round(settings.write_wait_seconds * 1000), 1)}"]
    if settings.database_schema:
        options.append(f"-c search_path={settings.database_schema}")
    engine = create_engine(url, connect_args={"options": " ".join(options)}, pool_pre_ping=True)

    @event.listens_for(engine, "begin")
    def _pg_begin(conn):
        if _reads_only(conn):
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        wait = _write_wait.get()
        # The setting is the connection's own lock_timeout; a statement more per transaction
        # only when the wait differs from it by more than a tenth of a second.
        if wait is not None and abs(wait - settings.write_wait_seconds) > 0.1:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {max(round(wait * 1000), 1)}")

    _raise_busy_on_lock_timeout(engine, settings.write_wait_seconds)
    return engine


def _raise_busy_on_lock_timeout(engine: Engine, wait: float) -> None:
    """A lock timeout from the driver becomes WriterBusy (a 503), whatever statement hit it."""

    @event.listens_for(engine, "handle_error")
    def _busy(context):
        if _lock_timed_out(context.original_exception):
            waited = _write_wait.get()
            raise WriterBusy(wait if waited is None else waited) from context.original_exception


def write_now(session: Session | Connection) -> None:
    """Begin the session's (or connection's) writing transaction now, before its reads: on
    SQLite the writer lock is taken here (so what the transaction reads next no other writer
    changes before it commits); on PostgreSQL this is the transaction's start, nothing more
    (take a row or advisory lock there for the same effect)."""
    conn = session.connection() if isinstance(session, Session) else session
    dbapi_conn = conn.connection.dbapi_connection
    if isinstance(dbapi_conn, _SqliteConnection):
        dbapi_conn.begin_writing()


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
