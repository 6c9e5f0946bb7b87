"""A write that cannot get the lock in time is answered 503 with Retry-After, in each API's own
error format, after at most write_wait_seconds; never a 500, never a hang."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import xmltodict
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from civicgrid.cases.models import Case, CaseCounter
from civicgrid.config import Settings, get_settings
from civicgrid.geo.index import index as geo_index
from civicgrid.kit import db
from civicgrid.kit.errors import ServiceBusy
from civicgrid.open311 import service as o311
from tests.conftest import DB_URL, IS_PG, SCHEMA
from tests.factories import POINT_A, world

WAIT = 0.5


@contextmanager
def lock_held(engine) -> Iterator[None]:
    """Another connection keeps what a report's write needs: SQLite's write lock (taken
    at once, with write_now), PostgreSQL's tables of a report (EXCLUSIVE:
    reads go on, writes wait)."""
    conn = engine.connect()
    transaction = conn.begin()
    if IS_PG:
        conn.exec_driver_sql("LOCK TABLE cases, case_counters IN EXCLUSIVE MODE")
    else:
        db.write_now(conn)
    try:
        yield
    finally:
        transaction.rollback()
        conn.close()


@pytest.fixture()
def short_wait(committed, engine, monkeypatch) -> Iterator[str]:
    """The small world committed, and the process on an engine whose writers wait WAIT
    seconds; yields an Open311 api key."""
    with committed() as s:
        world(s)
        _, key = o311.add_key(s, "busy test")
        s.commit()
    monkeypatch.setenv("CIVICGRID_WRITE_WAIT_SECONDS", str(WAIT))
    get_settings.cache_clear()
    short = db.make_engine(
        Settings(database_url=DB_URL, database_schema=SCHEMA, mode="test", write_wait_seconds=WAIT)
    )
    db.set_engine(short)
    geo_index.loaded = False
    try:
        yield key
    finally:
        db.set_engine(engine)
        short.dispose()


@pytest.fixture()
def busy_client(short_wait) -> Iterator[TestClient]:
    from civicgrid.app import create_app

    with TestClient(create_app()) as c:
        yield c


def citizen_report(client: TestClient):
    return client.post(
        "/api/v1/citizen/reports",
        data={"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1], "description": "垃圾"},
    )


def open311_post(client: TestClient, key: str, fmt: str = "json"):
    return client.post(
        f"/open311/v2/requests.{fmt}",
        data={"api_key": key, "service_code": "06010", "lat": POINT_A[1], "long": POINT_A[0]},
    )


def timed(call):
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def test_a_citizen_report_that_cannot_get_the_lock_is_answered_503_with_retry_after(
    busy_client, engine
):
    # Given another connection holding what the report's write needs
    with lock_held(engine):
        # When a citizen reports
        r, took = timed(lambda: citizen_report(busy_client))
    # Then the answer is a 503 in the API's error format, after about the setting's wait
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == str(ServiceBusy.retry_after_seconds)
    body = r.json()
    assert body["error"] == "busy" and body["retry_after"] == ServiceBusy.retry_after_seconds
    assert "系统繁忙" in body["detail"] and "try again" in body["detail"]
    assert WAIT * 0.9 <= took < WAIT + 4
    # and once the lock is free the same report goes through, the refused one left nothing
    with db.session_scope(read_only=True) as s:
        assert s.scalar(select(func.count(Case.id))) == 0
    r = citizen_report(busy_client)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_open311_post_that_cannot_get_the_lock_gets_its_own_error_document_with_503(
    busy_client, short_wait, engine, fmt
):
    # Given the lock held elsewhere, When an Open311 client posts a request
    with lock_held(engine):
        r, took = timed(lambda: open311_post(busy_client, short_wait, fmt))
    # Then it is refused with the GeoReport error document, status 503 and Retry-After
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == str(ServiceBusy.retry_after_seconds)
    if fmt == "json":
        [error] = r.json()
    else:
        error = xmltodict.parse(r.text)["errors"]["error"]
    assert str(error["code"]) == "503" and "try again" in error["description"]
    assert WAIT * 0.9 <= took < WAIT + 4
    assert open311_post(busy_client, short_wait, fmt).status_code == 201


def test_open311_posts_waiting_together_are_all_refused_within_the_wait(
    busy_client, short_wait, engine
):
    """A batch that cannot get the lock is refused as a whole, not retried item by item (each
    retry would wait again)."""
    answers: list = []

    def post():
        answers.append(timed(lambda: open311_post(busy_client, short_wait)))

    with lock_held(engine):
        threads = [threading.Thread(target=post) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sorted(r.status_code for r, _took in answers) == [503] * 6
    assert max(took for _r, took in answers) < 2 * WAIT + 4


def test_write_wait_bounds_a_writer_and_a_reader_does_not_wait(committed, engine):
    # Given the lock held elsewhere
    with lock_held(engine):
        # When a writer begins with a wait of 0.2 s, Then it gets WriterBusy after about that
        started = time.monotonic()
        with pytest.raises(db.WriterBusy), db.write_wait(0.2), db.session_scope() as s:
            s.execute(insert(CaseCounter).values(day="20990101", last=1))
        assert 0.18 <= time.monotonic() - started < 5
        # and a reader is not held up at all
        with db.session_scope(read_only=True) as s:
            assert s.scalar(select(func.count(CaseCounter.day))) == 0
    # Once free, the same write goes through
    with db.write_wait(0.2), db.session_scope() as s:
        s.execute(insert(CaseCounter).values(day="20990101", last=1))
