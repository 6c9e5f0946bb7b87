"""Internal and public notes (issue #14 item 5): a note is internal unless marked public; the
citizen's tracking page and Open311 `status_notes` show only public notes, with a fixed public
text per step; a return's reason stays internal."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from civicgrid.kit.db import utcnow
from tests.citizen.test_citizen import report
from tests.factories import login, world
from tests.images import jpeg

V2 = "/open311/v2"
INTERNAL = ("不归我单位管", "内部: 队长已处理", "内部核查记录")


def track(client, code, secret):
    return client.get(f"/api/v1/citizen/cases/{code}", params={"s": secret}).json()


def public_texts(client, code, secret) -> tuple[str, str, str]:
    """What the public reads: the tracking page's answer, Open311 JSON and XML."""
    client.cookies.clear()
    tracked = track(client, code, secret)
    as_json = client.get(f"{V2}/requests/{code}.json").json()[0]["status_notes"]
    as_xml = ET.fromstring(client.get(f"{V2}/requests/{code}.xml").content)
    return str(tracked), as_json, as_xml.find("request").findtext("status_notes")


def test_internal_notes_never_reach_the_public_and_public_ones_do(client, session):
    # Given a citizen's case, returned with a reason (internal by default)
    world(session)
    body = report(client).json()
    code, secret = body["code"], body["secret"]
    login(client, "ha")
    assert client.post(f"/api/v1/cases/{code}/return", json={"note": INTERNAL[0]}).is_success
    tracked = track(client, code, secret)
    assert [e["text"] for e in tracked["timeline"]][-1] == "已受理"
    # and sent again, taken, reported done with an internal note
    login(client, "disp")
    assert client.post(f"/api/v1/cases/{code}/dispatch", json={"unit": "239901001"}).is_success
    assert public_texts(client, code, secret)[1] == "已派遣至东风街道"
    login(client, "ha")
    assert client.post(f"/api/v1/cases/{code}/take", json={}).is_success
    assert public_texts(client, code, secret)[1] == "处置中"
    login(client, "ha")
    r = client.post(
        f"/api/v1/cases/{code}/report-done",
        data={"note": INTERNAL[1]},
        files=[("photos", ("after.jpg", jpeg(), "image/jpeg"))],
    )
    assert r.is_success, r.text
    assert public_texts(client, code, secret)[1:] == ("已处置待核查", "已处置待核查")
    # When the supervisor closes it with a public note, after an internal comment
    login(client, "sup")
    assert client.post(f"/api/v1/cases/{code}/comment", json={"note": INTERNAL[2]}).is_success
    r = client.post(
        f"/api/v1/cases/{code}/verify-pass", data={"note": "现场已清理干净", "public": "true"}
    )
    assert r.is_success, r.text
    tracked, as_json, as_xml = public_texts(client, code, secret)
    # Then no internal note is shown anywhere; the public one is, after the step's text
    for note in INTERNAL:
        assert note not in tracked and note not in as_json and note not in as_xml
    assert as_json == as_xml == "已办结; 现场已清理干净"
    steps = [(e["text"], e["note"]) for e in track(client, code, secret)["timeline"]]
    assert steps == [
        ("已上报", ""),
        ("已受理", ""),
        ("已派遣至东风街道", ""),
        ("已受理", ""),
        ("已派遣至东风街道", ""),
        ("处置中", ""),
        ("已处置待核查", ""),
        ("已办结", "现场已清理干净"),
    ]
    # while staff still see every note
    login(client, "disp")
    staff = client.get(f"/api/v1/cases/{code}").json()
    assert {e["note"] for e in staff["timeline"]} >= set(INTERNAL)


def test_a_json_action_marked_public_shows_its_note(client, session):
    # Given a case whose handler asks for more time, and the dispatcher approves publicly
    world(session)
    body = report(client).json()
    code, secret = body["code"], body["secret"]
    login(client, "ha")
    assert client.post(f"/api/v1/cases/{code}/take", json={}).is_success
    r = client.post(
        f"/api/v1/cases/{code}/extend-request",
        json={"note": "需要协调施工队", "until": (utcnow() + dt.timedelta(days=3)).isoformat()},
    )
    assert r.is_success, r.text
    login(client, "disp")
    r = client.post(
        f"/api/v1/cases/{code}/extend-approve", json={"note": "已延期至下周", "public": True}
    )
    assert r.is_success, r.text
    # Then the public reads the approval's note, not the request's
    tracked, as_json, as_xml = public_texts(client, code, secret)
    assert as_json == as_xml == "处置中; 已延期至下周"
    assert "需要协调施工队" not in tracked and "已延期至下周" in tracked
