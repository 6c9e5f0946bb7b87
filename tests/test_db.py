"""Transactions: a read-only one refuses writes (and on SQLite takes no write lock); the
connection writes again afterwards."""

import threading

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError

from civicgrid import db
from civicgrid.cases.models import CaseCounter


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
