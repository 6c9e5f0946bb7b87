"""The one intake path: every report is planned outside the write (photos decoded and stored
under pending keys), then written by group commit; a failed write leaves no file referenced, and
its files are discarded (a refusal) or swept later (a failure that may have committed)."""

from __future__ import annotations

import threading

import orjson
import pytest
from sqlalchemy import func, select

from civicgrid.cases.models import Case
from civicgrid.citizen import intake
from civicgrid.citizen import service as citizen_service
from civicgrid.config import get_settings
from civicgrid.kit import db, idempotency
from civicgrid.kit.db import WriterBusy
from civicgrid.kit.storage import LocalStorage
from civicgrid.media import service as media_service
from civicgrid.media.models import Photo
from tests.factories import POINT_A, POINT_B, login, world
from tests.images import jpeg


def prepared(session, n_photos: int = 1) -> citizen_service.Prepared:
    return citizen_service.prepare(
        session,
        get_settings(),
        category="06010",
        lon=POINT_A[0],
        lat=POINT_A[1],
        photos=[(f"p{i}.jpg", jpeg(color=(i * 50, 80, 80))) for i in range(n_photos)],
    )


def item(one: citizen_service.Prepared, **kwargs) -> intake.Report:
    """The report as the writer takes it, answering its code and id."""

    def answer(done: citizen_service.Submitted) -> idempotency.Answer:
        return idempotency.Answer.json(201, {"code": done.case.code, "id": done.case.id})

    return intake.Report(one, answer, **kwargs)


def stored_keys() -> set[str]:
    store = media_service.storage(get_settings())
    return {key for key, _modified in store.keys()}  # noqa: SIM118 - a Storage, not a dict


def test_photos_are_stored_before_the_write_begins(client, session, monkeypatch):
    # Given the world, and a record of what the store and the writer do, in order
    world(session)
    order: list[str] = []
    put, write_many = LocalStorage.put, citizen_service.write_many

    def recording_put(self, key, data):
        order.append("put")
        put(self, key, data)

    def recording_write_many(*args, **kwargs):
        order.append("write")
        return write_many(*args, **kwargs)

    monkeypatch.setattr(LocalStorage, "put", recording_put)
    monkeypatch.setattr(citizen_service, "write_many", recording_write_many)
    # When a citizen reports with two photos from the phone page
    files = [("photos", (f"p{i}.jpg", jpeg(color=(i, 9, 9)), "image/jpeg")) for i in range(2)]
    r = client.post(
        "/api/v1/citizen/reports",
        data={"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]},
        files=files,
    )
    # Then the four files (photo and thumbnail each) were put before the write, none within
    assert r.status_code == 201, r.text
    assert order == ["put", "put", "put", "put", "write"]
    photos = session.scalars(select(Photo).join(Case).where(Case.code == r.json()["code"])).all()
    assert len(photos) == 2 and {p.key for p in photos} <= stored_keys()


def test_a_refused_write_discards_the_pending_files_at_once(session, monkeypatch):
    # Given a prepared report with a photo (its files stored, pending)
    world(session)
    one = prepared(session)
    pending = {one.photos[0].key, one.photos[0].thumb_key}
    assert pending <= stored_keys()

    # When its write is refused (the database busy: nothing of it written)
    def busy(*_a, **_k):
        raise WriterBusy(0.1)

    monkeypatch.setattr(citizen_service, "write_many", busy)
    with pytest.raises(WriterBusy):
        intake.write(item(one))
    # Then its files are gone and no photo row refers to them
    assert not pending & stored_keys()
    assert session.scalar(select(func.count(Photo.id))) == 0


def test_a_failed_write_leaves_its_files_to_the_sweep_and_references_none(session, monkeypatch):
    # Given a prepared report with a photo
    world(session)
    one = prepared(session)
    pending = {one.photos[0].key, one.photos[0].thumb_key}

    # When its write fails in a way that might have committed (not a refusal)
    def broken(*_a, **_k):
        raise RuntimeError("the connection went away during the commit")

    monkeypatch.setattr(citizen_service, "write_many", broken)
    with pytest.raises(RuntimeError):
        intake.write(item(one))
    # Then no photo row refers to its files, which stay until the sweep ...
    assert session.scalar(select(func.count(Photo.id))) == 0
    assert pending <= stored_keys()
    # ... which removes them once older than its grace, and only them
    monkeypatch.undo()
    kept = orjson.loads(intake.write(item(prepared(session))).body)
    kept_keys = set(session.scalars(select(Photo.key).where(Photo.case_id == kept["id"])))
    assert media_service.sweep(session, get_settings(), grace_seconds=3600) == []
    removed = set(media_service.sweep(session, get_settings(), grace_seconds=0))
    assert pending <= removed and not kept_keys & removed
    assert not pending & stored_keys() and kept_keys <= stored_keys()


def test_many_concurrent_reports_all_get_written(committed):
    # Given the world, committed
    with committed() as s:
        world(s)
        s.commit()
    codes: list[str] = []
    errors: list[BaseException] = []

    def one(n: int) -> None:
        try:
            with db.session_scope(read_only=True) as s:
                ready = citizen_service.prepare(
                    s,
                    get_settings(),
                    category="06010",
                    lon=(POINT_A if n % 2 else POINT_B)[0],
                    lat=(POINT_A if n % 2 else POINT_B)[1],
                    photos=[("p.jpg", jpeg(color=(n, 1, 1)))] if n % 3 == 0 else [],
                )
            codes.append(orjson.loads(intake.write(item(ready)).body)["code"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    # When 40 reports arrive at once
    threads = [threading.Thread(target=one, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # Then every one was answered with its own code, and every one is in the database
    assert errors == [] and len(set(codes)) == 40
    with db.session_scope(read_only=True) as s:
        assert set(s.scalars(select(Case.code))) == set(codes)
        assert s.scalar(select(func.count(Photo.id))) == 14


def test_staff_entry_goes_through_the_intake_writer(client, session, monkeypatch):
    # Given a dispatcher signed in, and the intake writer watched
    world(session)
    login(client, "disp")
    seen: list[bool] = []
    write = intake._writer.write

    def watched(item):
        seen.append(item.prepared.tracked)
        return write(item)

    monkeypatch.setattr(intake._writer, "write", watched)
    # When the dispatcher enters a case from a phone call
    r = client.post(
        "/api/v1/cases",
        json={"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1], "source": "hotline"},
    )
    # Then it went through the one intake writer, without a tracking secret
    assert r.status_code == 201, r.text
    assert seen == [False]
    assert session.scalar(select(Case.source).where(Case.code == r.json()["code"])) == "hotline"
