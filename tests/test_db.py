"""Transactions: a read-only one refuses writes (and on SQLite takes no write lock); the
connection writes again afterwards."""

import datetime as dt
import sqlite3
import threading
import time

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError

from civicgrid.cases.models import CaseCounter
from civicgrid.config import Settings
from civicgrid.kit import db


def test_a_read_only_transaction_refuses_writes_and_the_next_one_writes(committed):
    with committed() as s:
        s.connection(execution_options={db.READ_ONLY: True})
        assert s.scalars(select(CaseCounter)).all() == []
        with pytest.raises(DBAPIError):
            s.execute(insert(CaseCounter).values(day="20990101", last=1))
        s.rollback()
        s.execute(insert(CaseCounter).values(day="20990101", last=1))
        s.commit()
    with committed() as s:
        s.connection(execution_options={db.READ_ONLY: True})
        assert s.scalar(select(CaseCounter.last)) == 1
        with pytest.raises(DBAPIError):
            s.execute(insert(CaseCounter).values(day="20990102", last=1))


def test_a_reader_runs_while_a_writer_holds_its_transaction(committed):
    """On SQLite every writer queues for the write lock; a reader does not wait for it."""
    writer = committed()
    writer.execute(insert(CaseCounter).values(day="20990103", last=7))  # holds the lock
    seen = []

    def read():
        with committed() as s:
            s.connection(execution_options={db.READ_ONLY: True})
            seen.append(s.scalar(select(CaseCounter.last).where(CaseCounter.day == "20990103")))

    t = threading.Thread(target=read)
    t.start()
    t.join(10)
    assert not t.is_alive() and seen == [None]  # it ran at once, and saw no uncommitted row
    writer.commit()
    writer.close()


def test_sqlite_checkpoints_run_in_the_background_and_keep_the_wal_bounded(tmp_path, monkeypatch):
    """No commit checkpoints (wal_autocheckpoint=0); the checkpointer thread copies the WAL so
    that the next writer starts it afresh (without the thread it grows to 1,200 frames). The
    locked finish past RESET_FRAMES matters only with writers running alongside: not shown here."""
    monkeypatch.setattr(db._Checkpointer, "INTERVAL", 0.01)
    engine = db.make_engine(Settings(database_url=f"sqlite:///{tmp_path}/c.db", mode="test"))
    with engine.begin() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT)")
    for i in range(300):  # ~1,200 pages of WAL without a checkpoint
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t (pad) VALUES (?)", ("x" * 4000,))
        if i % 50 == 0:
            time.sleep(0.05)
    time.sleep(0.2)
    with engine.begin() as conn:  # the first writer after a full checkpoint restarts the WAL
        conn.exec_driver_sql("INSERT INTO t (pad) VALUES ('y')")
    raw = sqlite3.connect(f"{tmp_path}/c.db")
    _busy, frames, _copied = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert raw.execute("SELECT count(*) FROM t").fetchone()[0] == 301
    raw.close()
    assert frames < 200  # restarted, not 1,200 frames long
    engine.dispose()


def test_utc_times_are_stored_on_sqlite_as_sqlalchemy_would_store_them():
    """UTCDateTime formats SQLite's text itself (faster); it must be the very same text."""
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    ours = db.UTCDateTime().bind_processor(dialect)
    theirs = sqlite.DATETIME().bind_processor(dialect)
    cst = dt.timezone(dt.timedelta(hours=8))
    moments = [
        dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=cst),  # the day before, in UTC
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
        dt.datetime(2030, 6, 15, 12, 30, 5, 120000, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ]
    for moment in moments:
        assert ours(moment) == theirs(moment.astimezone(dt.UTC).replace(tzinfo=None))
    assert ours(None) is None
    with pytest.raises(ValueError):
        ours(dt.datetime(2026, 1, 1))
