"""Staff's case entry: a supervisor's patrol with photos, a hotline call with the caller's wish
to be called back, the same source rules as the JSON entry, the caller's history (scoped)."""

from __future__ import annotations

from sqlalchemy import select

from civicgrid.cases.models import Case, CaseEvent
from civicgrid.citizen import service as citizen_service
from civicgrid.media.models import Photo
from tests.factories import POINT_A, SITE, STREET_A, STREET_B, login, world
from tests.images import jpeg


def entry(client, data: dict, photos=(), **headers):
    files = [("photos", (f"p{n}.jpg", body, "image/jpeg")) for n, body in enumerate(photos)]
    return client.post(
        "/api/v1/cases/entry", data=data, files=files or None, headers={**SITE, **headers}
    )


def test_anonymous_gets_401(client, session):
    world(session)
    assert entry(client, {"category": "06010"}).status_code == 401
    assert client.get("/api/v1/cases/entry/caller?phone=13900001111").status_code == 401


def test_a_supervisors_patrol_with_a_photo(client, session):
    # Given a supervisor signed in
    world(session)
    login(client, "sup")
    # When they enter a case with a photo and a place
    r = entry(
        client,
        {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1], "description": "路面垃圾"},
        [jpeg()],
    )
    # Then it is a supervisor's case, routed, with the photo kept as the report's
    assert r.status_code == 201, r.text
    case = session.scalar(select(Case).where(Case.code == r.json()["code"]))
    assert case.source == "supervisor" and case.street_code is not None
    stages = session.scalars(select(Photo.stage).where(Photo.case_id == case.id)).all()
    assert stages == ["report"]


def test_a_photo_that_is_not_an_image_is_refused(client, session):
    world(session)
    login(client, "sup")
    r = entry(
        client, {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]}, [b"not an image"]
    )
    assert r.status_code == 400, r.text
    assert session.scalar(select(Case.id)) is None


def test_a_hotline_call_with_callback(client, session):
    # Given an operator signed in
    world(session)
    login(client, "oper")
    # When they enter a call whose caller wishes to be called back
    r = entry(
        client,
        {
            "category": "06010",
            "lon": POINT_A[0],
            "lat": POINT_A[1],
            "address": "中山路 1 号",
            "contact_phone": "139-0000-1111",
            "contact_name": "王先生",
            "callback": "true",
        },
    )
    # Then it is a hotline case, the wish in the report event's payload
    assert r.status_code == 201, r.text
    case = session.scalar(select(Case).where(Case.code == r.json()["code"]))
    assert case.source == "hotline"
    payload = session.scalar(
        select(CaseEvent.payload).where(CaseEvent.case_id == case.id, CaseEvent.action == "report")
    )
    assert payload["callback"] is True
    # And a call without the wish has none
    r = entry(client, {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]})
    other = session.scalar(select(Case.id).where(Case.code == r.json()["code"]))
    payload = session.scalar(
        select(CaseEvent.payload).where(CaseEvent.case_id == other, CaseEvent.action == "report")
    )
    assert "callback" not in payload


def test_source_rules_are_those_of_the_json_entry(client, session):
    # Given a supervisor signed in
    world(session)
    login(client, "sup")
    # When they enter a hotline case, or ask for automatic dispatch
    hotline = entry(client, {"category": "06010", "source": "hotline"})
    auto = entry(client, {"category": "06010", "auto_dispatch": "true"})
    # Then both are refused, as by POST /api/v1/cases, and nothing is written
    assert hotline.status_code == 403 and auto.status_code == 403
    assert session.scalar(select(Case.id)) is None


def test_a_repeated_entry_with_its_key_is_written_once(client, session):
    world(session)
    login(client, "sup")
    data = {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]}
    first = entry(client, data, [jpeg()], **{"Idempotency-Key": "k-entry-1"})
    again = entry(client, data, [jpeg()], **{"Idempotency-Key": "k-entry-1"})
    assert first.status_code == 201 and again.json() == first.json()
    assert len(session.scalars(select(Case.id)).all()) == 1
    # the same key with another photo is another request: refused
    other = entry(client, data, [jpeg(color=(1, 2, 3))], **{"Idempotency-Key": "k-entry-1"})
    assert other.status_code == 422 or other.status_code == 409, other.text


def test_the_callers_history_is_scoped_and_for_contact_roles(client, session):
    # Given two calls from one phone and one from another
    world(session)
    login(client, "oper")
    codes = [
        entry(
            client,
            {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1], "contact_phone": phone},
        ).json()["code"]
        for phone in ("13900001111", "13900002222", "139 0000 1111")
    ]
    # When the operator types the phone
    r = client.get("/api/v1/cases/entry/caller", params={"phone": "+86 139-0000-1111"})
    # Then the caller's cases are listed, newest first, and no other
    assert r.status_code == 200, r.text
    assert [c["code"] for c in r.json()] == [codes[2], codes[0]]
    # And a handler (who may not see reporters' phones) is refused
    client.post("/console/logout", headers=SITE)
    login(client, "hb")
    assert client.get("/api/v1/cases/entry/caller?phone=13900001111").status_code == 403
    # And a scope of another street sees none of them, the cases' street all of them
    assert citizen_service.caller_history(session, "13900001111", scope={STREET_B}) == []
    found = citizen_service.caller_history(session, "13900001111", scope={STREET_A})
    assert [c["code"] for c in found] == [codes[2], codes[0]]


def test_the_entry_page_and_its_header_link(client, session):
    world(session)
    login(client, "sup")
    page = client.get("/console/new")
    assert page.status_code == 200 and 'href="/console/new"' in page.text
    assert 'id="photos"' in page.text and 'id="contact_phone"' not in page.text
    client.post("/console/logout", headers=SITE)
    login(client, "oper")
    page = client.get("/console/new")
    assert 'id="contact_phone"' in page.text and 'id="callback"' in page.text
    client.post("/console/logout", headers=SITE)
    login(client, "hb")
    assert client.get("/console/new").status_code == 403
    assert 'href="/console/new"' not in client.get("/console").text
