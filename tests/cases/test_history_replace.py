"""import-cases --replace keeps what belongs to the case: the row's id, its photos (rows and
files), the reporter's contact and the tracking secret; a photo follows its event by seq and
action, or stays on the case with no event."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from civicgrid.cases.models import Case, CaseContact, CaseEvent
from civicgrid.citizen.models import TrackingSecret
from civicgrid.cli import app as cli
from civicgrid.config import get_settings
from civicgrid.media import service as media_service
from civicgrid.media.models import Photo
from tests.factories import POINT_A, login, world
from tests.images import jpeg

runner = CliRunner()


def reported_and_done(client, session) -> dict:
    """A citizen's report with a photo and a phone, taken, done with an after photo, and
    verified: its code, secret and id."""
    world(session)
    r = client.post(
        "/api/v1/citizen/reports",
        data={
            "category": "06010",
            "lon": POINT_A[0],
            "lat": POINT_A[1],
            "description": "路边一堆垃圾",
            "phone": "13900002222",
        },
        files=[("photos", ("before.jpg", jpeg(color=(200, 40, 40)), "image/jpeg"))],
    )
    assert r.status_code == 201, r.text
    body = r.json()
    code = body["code"]
    login(client, "ha")
    assert client.post(f"/api/v1/cases/{code}/take", json={}).status_code == 200
    r = client.post(
        f"/api/v1/cases/{code}/report-done",
        data={"note": "已清理"},
        files=[("photos", ("after.jpg", jpeg(color=(40, 200, 40)), "image/jpeg"))],
    )
    assert r.status_code == 200, r.text
    login(client, "sup")
    assert (
        client.post(f"/api/v1/cases/{code}/verify-pass", data={"note": "已核查"}).status_code == 200
    )
    client.cookies.clear()
    case_id = session.scalar(select(Case.id).where(Case.code == code))
    return {"code": code, "secret": body["secret"], "id": case_id}


def photos_of(session, case_id: int) -> list[tuple]:
    """Each photo as (id, key, thumb key, stage, sha256, its event's (seq, action) or None)."""
    session.expire_all()
    rows = []
    for p in session.scalars(select(Photo).where(Photo.case_id == case_id).order_by(Photo.id)):
        event = session.get(CaseEvent, p.event_id) if p.event_id else None
        rows.append(
            (
                p.id,
                p.key,
                p.thumb_key,
                p.stage,
                p.sha256,
                (event.seq, event.action) if event else None,
            )
        )
    return rows


def files_intact(photos: list[tuple]) -> bool:
    store = media_service.storage(get_settings())
    return all(
        hashlib.sha256(store.get(key)).hexdigest() == sha and store.get(thumb)
        for _id, key, thumb, _stage, sha, _event in photos
    )


def contact_and_secret(session, case_id: int) -> tuple:
    contact = session.get(CaseContact, case_id)
    secret = session.get(TrackingSecret, case_id)
    return (contact.name, contact.phone, contact.email), secret.secret_hash


def exported_line(tmp_path, code: str) -> dict:
    out = tmp_path / "all.jsonl"
    result = runner.invoke(cli, ["export-cases", "-o", str(out)])
    assert result.exit_code == 0, result.output
    [line] = [x for x in out.read_text(encoding="utf-8").splitlines() if f'"{code}"' in x]
    return json.loads(line)


def import_replace(tmp_path, obj: dict):
    path = tmp_path / "replace.jsonl"
    path.write_text(json.dumps(obj, ensure_ascii=False) + "\n", encoding="utf-8")
    return runner.invoke(cli, ["import-cases", str(path), "--replace"])


def test_export_then_replace_keeps_the_photos_contact_and_tracking_link(client, session, tmp_path):
    # Given a citizen's case with a before and an after photo, a contact and a tracking link
    case = reported_and_done(client, session)
    photos = photos_of(session, case["id"])
    assert [(p[3], p[5]) for p in photos] == [("report", None), ("done", (5, "report_done"))]
    kept = contact_and_secret(session, case["id"])
    # When its exported line is imported again with --replace
    line = exported_line(tmp_path, case["code"])
    result = import_replace(tmp_path, line)
    assert result.exit_code == 0, result.output
    assert "imported 1 cases (1 replaced)" in result.output
    # Then the case row is the same row, its history the imported one
    session.expire_all()
    row = session.scalar(select(Case).where(Case.code == case["code"]))
    assert row.id == case["id"] and row.state == "closed"
    roles = session.scalars(select(CaseEvent.role).where(CaseEvent.case_id == row.id)).all()
    assert set(roles) == {"import"}
    # the same photos, rows and files, the after photo on the new report_done event
    assert photos_of(session, case["id"]) == photos and files_intact(photos)
    # the same contact and tracking secret: the citizen's link still works, photos included
    assert contact_and_secret(session, case["id"]) == kept
    track = client.get(f"/api/v1/citizen/cases/{case['code']}", params={"s": case["secret"]})
    assert track.status_code == 200, track.text
    view = track.json()
    assert [p["stage"] for p in view["photos"]] == ["report", "done"]
    for p in view["photos"]:
        assert client.get(p["url"]).headers["content-type"] == "image/jpeg"
    # and no case has drifted from its events
    result = runner.invoke(cli, ["verify-cases"])
    assert result.exit_code == 0 and "every case matches" in result.output, result.output


@pytest.mark.parametrize(
    ("events", "state"),
    [
        # the history ends before the report_done the after photo was taken with
        (["report", "accept", "dispatch", "take"], "in_progress"),
        # seq 5 is another action now
        (["report", "accept", "dispatch", "take", "return"], "registered"),
    ],
)
def test_a_photo_whose_event_is_gone_stays_with_the_case_on_no_event(
    client, session, tmp_path, events, state
):
    # Given the case with its after photo on event 5 (report_done)
    case = reported_and_done(client, session)
    photos = photos_of(session, case["id"])
    # When a history without a report_done at seq 5 replaces it
    line = exported_line(tmp_path, case["code"])
    at = line["events"][-1]["at"]
    line["events"] = [
        {**e, "action": a} if e["action"] == a else {"at": at, "action": a, "note": "退回"}
        for e, a in zip(line["events"], events, strict=False)
    ]
    result = import_replace(tmp_path, line)
    assert result.exit_code == 0, result.output
    # Then both photos are kept, rows and files, the after photo now on no event
    assert photos_of(session, case["id"]) == [photos[0], (*photos[1][:5], None)]
    assert files_intact(photos)
    session.expire_all()
    row = session.scalar(select(Case).where(Case.code == case["code"]))
    assert (row.id, row.state, row.last_seq) == (case["id"], state, len(events))
    seqs = session.scalars(select(CaseEvent.seq).where(CaseEvent.case_id == row.id)).all()
    assert sorted(seqs) == list(range(1, len(events) + 1))
    assert contact_and_secret(session, row.id)[1]
    assert runner.invoke(cli, ["verify-cases"]).exit_code == 0


def test_a_longer_history_keeps_the_photo_on_its_event_and_adds_the_rest(client, session, tmp_path):
    # Given the closed case, When a history with a rating more replaces it
    case = reported_and_done(client, session)
    photos = photos_of(session, case["id"])
    line = exported_line(tmp_path, case["code"])
    line["events"].append({"at": line["events"][-1]["at"], "action": "rate", "score": 4})
    assert import_replace(tmp_path, line).exit_code == 0
    # Then the photos are as they were and the case carries the rating
    assert photos_of(session, case["id"]) == photos
    session.expire_all()
    row = session.scalar(select(Case).where(Case.code == case["code"]))
    assert (row.id, row.score, row.last_seq) == (case["id"], 4, len(line["events"]))
    assert runner.invoke(cli, ["verify-cases"]).exit_code == 0
