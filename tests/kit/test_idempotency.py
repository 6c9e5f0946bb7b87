"""Idempotency keys: a repeat with the same key and request gets the very same answer and writes
nothing more; the same key with another request is refused; keys are forgotten after a day;
the intake's group commit, retried after an ambiguous commit, does not write a report twice."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future

import orjson
import pytest
from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session

from civicgrid.cases.models import Case, CaseEvent
from civicgrid.citizen import intake
from civicgrid.citizen import service as citizen_service
from civicgrid.config import get_settings
from civicgrid.kit import db, idempotency
from civicgrid.kit.idempotency import IdempotencyKey
from civicgrid.open311 import service as o311
from tests.factories import POINT_A, POINT_B, login, world
from tests.images import jpeg

KEY = {"Idempotency-Key": "a1b2c3d4-phone-retry"}


def citizen_report(client, headers=KEY, description="路边垃圾", photo=True):
    files = [("photos", ("p.jpg", jpeg(), "image/jpeg"))] if photo else None
    return client.post(
        "/api/v1/citizen/reports",
        data={
            "category": "06010",
            "lon": POINT_A[0],
            "lat": POINT_A[1],
            "description": description,
        },
        files=files,
        headers=headers,
    )


def cases(session) -> int:
    return session.scalar(select(func.count(Case.id)))


def test_a_repeated_citizen_report_gets_the_same_answer_and_is_written_once(client, session):
    world(session)
    # Given a report sent with a key
    first = citizen_report(client)
    assert first.status_code == 201, first.text
    # When the phone sends it again (its answer was lost)
    again = citizen_report(client)
    # Then the answer is the very same, and there is one case
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert cases(session) == 1
    # and without a key every report is a new one
    assert citizen_report(client, headers=None).json()["code"] != first.json()["code"]
    assert cases(session) == 2


def test_the_same_key_with_another_report_is_refused_and_writes_nothing(client, session):
    world(session)
    assert citizen_report(client).status_code == 201
    r = citizen_report(client, description="另一处垃圾")
    assert r.status_code == 422, r.text
    assert "Idempotency-Key" in r.json()["detail"]
    assert cases(session) == 1


@pytest.mark.parametrize("bad", ["x" * 201, "with space", ""])
def test_a_malformed_key_is_refused_with_400(client, session, bad):
    world(session)
    r = citizen_report(client, headers={"Idempotency-Key": bad})
    assert r.status_code == 400, r.text
    assert cases(session) == 0


def test_a_key_of_200_visible_characters_is_taken(client, session):
    world(session)
    r = citizen_report(client, headers={"Idempotency-Key": "k" * 200})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_repeated_open311_request_gets_the_same_document(client, session, fmt):
    world(session)
    _, api_key = o311.add_key(session, "partner")
    data = {"api_key": api_key, "service_code": "06010", "lat": POINT_B[1], "long": POINT_B[0]}
    first = client.post(f"/open311/v2/requests.{fmt}", data=data, headers=KEY)
    assert first.status_code == 201, first.text
    again = client.post(f"/open311/v2/requests.{fmt}", data=data, headers=KEY)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["content-type"] == first.headers["content-type"]
    assert cases(session) == 1
    # another client's api_key has its own keys: the same key is a new request there
    _, other = o311.add_key(session, "other partner")
    r = client.post(f"/open311/v2/requests.{fmt}", data={**data, "api_key": other}, headers=KEY)
    assert r.status_code == 201 and r.content != first.content
    # and another body with the first key is refused (400: the statuses GeoReport v2 knows)
    changed = {**data, "description": "不同"}
    r = client.post(f"/open311/v2/requests.{fmt}", data=changed, headers=KEY)
    assert r.status_code == 400 and "Idempotency-Key" in r.text
    assert cases(session) == 2


def test_a_repeated_case_action_acts_once_and_answers_the_same(client, session):
    world(session)
    code = citizen_report(client, headers=None).json()["code"]
    login(client, "ha")
    # Given a handler's take, sent with a key
    first = client.post(f"/api/v1/cases/{code}/take", json={"note": "收到"}, headers=KEY)
    assert first.status_code == 200, first.text
    # When it is sent again: the same answer, one take
    again = client.post(f"/api/v1/cases/{code}/take", json={"note": "收到"}, headers=KEY)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    takes = select(func.count(CaseEvent.id)).where(CaseEvent.action == "take")
    assert session.scalar(takes) == 1
    # while a take without a key is a new request, refused by the workflow
    assert client.post(f"/api/v1/cases/{code}/take", json={"note": "收到"}).status_code == 409
    # and a comment sent twice with one key is one comment
    comment = {"note": "已到现场"}
    key = {"Idempotency-Key": "comment-1"}
    for _ in range(2):
        r = client.post(f"/api/v1/cases/{code}/comment", json=comment, headers=key)
        assert r.status_code == 200, r.text
    comments = select(func.count(CaseEvent.id)).where(CaseEvent.action == "comment")
    assert session.scalar(comments) == 1


def test_a_repeated_staff_entry_is_one_case(client, session):
    world(session)
    login(client, "disp")
    body = {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1], "source": "hotline"}
    first = client.post("/api/v1/cases", json=body, headers=KEY)
    again = client.post("/api/v1/cases", json=body, headers=KEY)
    assert first.status_code == 201, first.text
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert cases(session) == 1


def test_prune_forgets_keys_older_than_a_day(session):
    now = db.utcnow()
    rows = [
        {"key": f"t:{n}", "request_hash": "h", "status": 200, "answer": None, "created_at": at}
        for n, at in enumerate([now - dt.timedelta(hours=25), now - dt.timedelta(hours=23), now])
    ]
    session.execute(insert(IdempotencyKey), rows)
    assert idempotency.prune(session) == 1
    assert set(session.scalars(select(IdempotencyKey.key))) == {"t:1", "t:2"}
    assert idempotency.prune(session, older_than=dt.timedelta(0)) == 2


def test_a_batch_retried_after_an_ambiguous_commit_is_not_written_twice(committed):
    # Given two prepared reports, and a commit that fails after it has committed (as when the
    # connection is lost during COMMIT: the client cannot know)
    with committed() as s:
        world(s)
        s.commit()
    with db.session_scope(read_only=True) as s:
        ready = [
            citizen_service.prepare(
                s, get_settings(), category="06010", lon=POINT_A[0], lat=POINT_A[1]
            )
            for _ in range(2)
        ]

    def answer(done):
        return idempotency.Answer.json(201, {"code": done.case.code})

    items = [intake.Report(one, answer) for one in ready]
    failures = []

    def lost_commit(session):
        if not failures:
            failures.append(True)
            raise ConnectionError("the server closed the connection during COMMIT")

    event.listen(Session, "after_commit", lost_commit)
    try:
        # When the group writer writes them as one batch (it retries each alone)
        batch = [(one, Future(), 0.0) for one in items]
        intake._writer._write(batch)
    finally:
        event.remove(Session, "after_commit", lost_commit)
    # Then each caller is answered with its report as written the first time, and the
    # database holds each report once
    assert failures == [True]
    codes = [orjson.loads(future.result(0).body)["code"] for _i, future, _t in batch]
    with db.session_scope(read_only=True) as s:
        assert s.scalar(select(func.count(Case.id))) == 2
        assert set(s.scalars(select(Case.code))) == set(codes)


def test_the_scheduler_prunes_old_keys_hourly(session):
    # Given a key of two days ago and one of now, committed
    from civicgrid.kit import scheduler

    now = db.utcnow()
    rows = [
        {"key": f"j:{n}", "request_hash": "h", "status": 200, "answer": None, "created_at": at}
        for n, at in enumerate([now - dt.timedelta(days=2), now])
    ]
    session.execute(insert(IdempotencyKey), rows)
    session.commit()
    # When the scheduler runs the job, Then the old key is forgotten and the new one kept
    job = scheduler.get_job("idempotency-prune")
    assert job is idempotency.PRUNE_JOB and job.every == dt.timedelta(hours=1)
    outcome = scheduler.run_job(job, node="test", force=True)
    assert outcome.ok and outcome.result.startswith("forgot 1 ")
    session.expire_all()
    assert set(session.scalars(select(IdempotencyKey.key))) == {"j:1"}
