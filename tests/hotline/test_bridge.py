"""The 12345 bridge against a small fake city platform over real HTTP: signed orders in (once
each, GCJ-02 converted, unknown categories refused), the deadline's minimum, status out through
the outbox while the platform refuses, times out and answers late, dead letters resent."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
import time

import eviltransform
import httpx
import pytest
from sqlalchemy import func, select, text

from civicgrid.cases import service as cases_service
from civicgrid.cases.policy import Actor
from civicgrid.config import get_settings
from civicgrid.hotline import service
from civicgrid.hotline.models import HotlineOutbox
from civicgrid.kit.db import utcnow
from tests.factories import POINT_A, login, world
from tests.images import jpeg
from tests.servers import serving

SECRET = "test-hotline-secret-0123456789"


class Platform:
    """What the fake platform does with the next status posts ("ok", "refuse", "timeout",
    "late"), and what it took; it checks each signature as a real one would."""

    plan: list[str] = []
    took: list[dict] = []
    orders: list[dict] = []
    bad_signatures = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/files/"):
            data = jpeg() if self.path.endswith(".jpg") else b"%PDF-1.4 not a photo"
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self._answer(200, {"orders": Platform.orders})

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = service.sign(
            SECRET, self.headers[service.TIMESTAMP_HEADER], self.headers[service.NONCE_HEADER], body
        )
        if expected != self.headers[service.SIGNATURE_HEADER]:
            Platform.bad_signatures += 1
            return self._answer(401, {"error": "signature"})
        what = Platform.plan.pop(0) if Platform.plan else "ok"
        if what == "refuse":
            return self._answer(503, {"error": "busy"})
        if what == "timeout":
            time.sleep(0.6)  # past the client's timeout (0.3 s): the answer comes too late
            return self._answer(200, {"code": 0})
        if what == "late":
            time.sleep(0.15)  # slow, inside the timeout
        Platform.took.append(json.loads(body))
        self._answer(200, {"code": 0})


@pytest.fixture()
def platform(monkeypatch):
    Platform.plan, Platform.took, Platform.orders, Platform.bad_signatures = [], [], [], 0
    with serving(Handler) as url:
        monkeypatch.setenv("CIVICGRID_HOTLINE_SECRET", SECRET)
        monkeypatch.setenv("CIVICGRID_HOTLINE_STATUS_URL", f"{url}/status")
        monkeypatch.setenv("CIVICGRID_HOTLINE_POLL_URL", f"{url}/orders")
        monkeypatch.setenv("CIVICGRID_HOTLINE_TIMEOUT_SECONDS", "0.3")
        monkeypatch.setenv("CIVICGRID_HOTLINE_MAX_ATTEMPTS", "3")
        monkeypatch.setenv("CIVICGRID_HOTLINE_BACKOFF_SECONDS", "10")
        monkeypatch.setenv("CIVICGRID_PUBLIC_BASE_URL", "https://cg.example.org")
        get_settings.cache_clear()
        yield url


def gcj(point):
    lat, lon = eviltransform.wgs2gcj(point[1], point[0])
    return lon, lat


def an_order(no="HX2026113000001", category="06010", deadline=None, **extra) -> dict:
    lon, lat = gcj(POINT_A)
    return {
        "orderNo": no,
        "receivedAt": utcnow().isoformat(),
        "channel": "phone",
        "caller": {"name": "李女士", "phone": "13912345678"},
        "categoryCode": category,
        "content": "小区门口垃圾堆放三天无人清运",
        "address": "香坊区示例街1号",
        "location": {"lng": lon, "lat": lat, "coordSystem": "GCJ02"},
        "urgency": "1",
        "deadline": (deadline or utcnow() + dt.timedelta(days=5)).isoformat(),
        **extra,
    }


def post_signed(client, path, body: dict, *, secret=SECRET, headers=None, raw=None):
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    signed = service.signed_headers(secret, data)
    signed.update(headers or {})
    return client.post(path, content=data, headers={**signed, "Content-Type": "application/json"})


def hotline_cases(session) -> int:
    return session.scalar(text("SELECT count(*) FROM cases WHERE source = 'hotline'"))


def test_a_signed_order_becomes_one_case_however_often_it_is_sent(client, session, platform):
    # Given the district and a platform that knows our secret
    world(session)
    # When it sends an order twice (two requests, two nonces)
    first = post_signed(client, "/api/v1/hotline/orders", an_order())
    again = post_signed(client, "/api/v1/hotline/orders", an_order())
    # Then one case with source hotline, placed in WGS-84 at the point, the caller kept
    assert first.status_code == 201, first.text
    assert again.status_code == 200 and again.json()["case_code"] == first.json()["case_code"]
    assert hotline_cases(session) == 1
    case = cases_service.get_case(session, first.json()["case_code"])
    assert case.source == "hotline" and case.street_code == "239901001"
    assert abs(case.lon - POINT_A[0]) < 1e-6 and abs(case.lat - POINT_A[1]) < 1e-6
    row = session.execute(
        text("SELECT phone FROM case_contacts WHERE case_id = :id"), {"id": case.id}
    ).scalar_one()
    assert row == "13912345678"


def test_bad_signatures_replays_stale_requests_and_unknown_categories_are_refused(
    client, session, platform
):
    world(session)
    path = "/api/v1/hotline/orders"
    body = json.dumps(an_order()).encode()
    # a signature made with another secret
    assert post_signed(client, path, {}, raw=body, secret="wrong-secret").status_code == 401
    # no signature at all
    assert client.post(path, content=body).status_code == 401
    # a replay: the same nonce again (its first use came through)
    headers = service.signed_headers(SECRET, body)
    assert client.post(path, content=body, headers=headers).status_code == 201
    replay = client.post(path, content=body, headers=headers)
    assert replay.status_code == 401 and "nonce" in replay.json()["detail"]
    # an old request, correctly signed
    old = service.signed_headers(SECRET, body, now=time.time() - 3600)
    assert client.post(path, content=body, headers=old).status_code == 401
    # an unknown category: 400 naming the platform's field, nothing written
    unknown = post_signed(client, path, an_order(no="HX2", category="ZZ99"))
    assert unknown.status_code == 400 and unknown.json()["field"] == "categoryCode"
    # a mapped platform category, and a bad time
    assert post_signed(client, path, an_order(no="HX3", category="CG0604")).status_code == 201
    bad_time = post_signed(client, path, {**an_order(no="HX4"), "deadline": "tomorrow"})
    assert bad_time.status_code == 400 and bad_time.json()["field"] == "deadline"
    assert hotline_cases(session) == 2


def test_without_a_secret_the_webhook_refuses_everything(client, session):
    world(session)
    r = post_signed(client, "/api/v1/hotline/orders", an_order(), secret="")
    assert r.status_code == 401 and r.json()["error"] == "not_configured"


def _dispatch(session, code):
    settings = get_settings()
    case = cases_service.get_case(session, code)
    disp = Actor("disp", "dispatcher")
    cases_service.transition(session, settings, case, "accept", actor=Actor("oper", "operator"))
    cases_service.transition(session, settings, case, "dispatch", actor=disp)
    return case


@pytest.mark.parametrize("platform_days, platform_governs", [(0.1, True), (60, False)])
def test_the_dispatch_deadline_is_the_earlier_of_ours_and_the_platforms(
    client, session, platform, platform_days, platform_governs
):
    world(session)
    theirs = utcnow() + dt.timedelta(days=platform_days)
    r = post_signed(client, "/api/v1/hotline/orders", an_order(deadline=theirs))
    case = _dispatch(session, r.json()["case_code"])
    dispatch = [e for e in cases_service.events_of(session, case) if e.action == "dispatch"][0]
    if platform_governs:
        assert case.deadline == theirs.replace(microsecond=case.deadline.microsecond)
        assert "ours" in dispatch.payload
    else:
        assert case.deadline < theirs and "ours" not in dispatch.payload


def _outbox(session) -> list[HotlineOutbox]:
    return list(session.scalars(select(HotlineOutbox).order_by(HotlineOutbox.id)))


def test_statuses_reach_the_platform_in_order_while_it_fails_and_recovers(
    client, session, platform
):
    # Given an order received and handled through its whole life
    world(session)
    settings = get_settings()
    code = post_signed(client, "/api/v1/hotline/orders", an_order()).json()["case_code"]
    case = _dispatch(session, code)
    ha = Actor("ha", "handler", frozenset({"239901001"}))
    until = (case.deadline + dt.timedelta(days=2)).isoformat()
    for action, kw in [
        ("take", {}),
        ("extend_request", {"payload": {"until": until}, "note": "需协调物业"}),
        ("extend_approve", {}),
    ]:
        who = Actor("disp", "dispatcher") if action == "extend_approve" else ha
        cases_service.transition(session, settings, case, action, actor=who, **kw)
    cases_service.act(
        session,
        settings,
        case,
        "report_done",
        actor=ha,
        note="已清运完毕",
        public=True,
        photos=[("after.jpg", jpeg())],
    )
    cases_service.transition(
        session, settings, case, "verify_pass", actor=Actor("disp", "dispatcher"), note="核查属实"
    )
    session.commit()
    # Then the outbox holds one message per status, in order, written with the events
    statuses = [m.status for m in _outbox(session)]
    assert statuses == [
        "accepted",
        "extension_requested",
        "extension_approved",
        "handled",
        "closed",
    ]
    handled = _outbox(session)[3].body
    assert handled["reply"] == "已清运完毕"
    assert handled["photos"] and handled["photos"][0].startswith("https://cg.example.org/")
    # When the platform refuses the first post, then times out, then answers late
    Platform.plan = ["refuse", "timeout", "late"]
    now = utcnow()
    out = service.send_due(session, settings, now=now)
    # the first message failed; the later ones of the same order waited behind it
    assert out == {"sent": 0, "retry": 1, "dead": 0}
    first = _outbox(session)[0]
    assert first.attempts == 1 and first.next_attempt_at == now + dt.timedelta(seconds=10)
    assert service.send_due(session, settings, now=now + dt.timedelta(seconds=9)) == {
        "sent": 0,
        "retry": 0,
        "dead": 0,
    }
    out = service.send_due(session, settings, now=now + dt.timedelta(seconds=10))
    assert out["retry"] == 1 and "Timeout" in _outbox(session)[0].last_error
    assert _outbox(session)[0].next_attempt_at == now + dt.timedelta(seconds=30)
    # then, recovered (late but within the timeout), everything goes, in order
    later = now + dt.timedelta(seconds=30)
    for _ in range(5):
        service.send_due(session, settings, now=later)
    assert [m["status"] for m in Platform.took] == [
        "ACCEPTED",
        "EXTENSION_REQUESTED",
        "EXTENSION_APPROVED",
        "HANDLED",
        "CLOSED",
    ]
    assert Platform.bad_signatures == 0
    assert {m.state for m in _outbox(session)} == {"sent"}
    assert Platform.took[1]["until"] and Platform.took[1]["reason"] == "需协调物业"


def test_a_message_that_keeps_failing_is_dead_lettered_and_resent_by_an_admin(
    client, session, platform
):
    world(session)
    settings = get_settings()
    code = post_signed(client, "/api/v1/hotline/orders", an_order()).json()["case_code"]
    _dispatch(session, code)
    session.commit()
    Platform.plan = ["refuse"] * 3
    now = utcnow()
    for n in range(3):
        service.send_due(session, settings, now=now + dt.timedelta(hours=n))
    [dead] = _outbox(session)
    assert dead.state == "dead" and dead.attempts == 3 and "503" in dead.last_error
    # the admin sees it, inspects it and resends it
    login(client, "hb")
    assert client.get("/api/v1/hotline/outbox?state=dead").status_code == 403
    login(client, "boss")
    listed = client.get("/api/v1/hotline/outbox?state=dead").json()
    assert [m["id"] for m in listed] == [dead.id]
    page = client.get("/admin/hotline")
    assert page.status_code == 200 and f"/admin/hotline/outbox/{dead.id}" in page.text
    inspect = client.get(f"/admin/hotline/outbox/{dead.id}")
    assert inspect.status_code == 200 and code in inspect.text
    resent = client.post(f"/api/v1/hotline/outbox/{dead.id}/resend")
    assert resent.status_code == 200 and resent.json()["state"] == "pending"
    assert service.send_due(session, settings)["sent"] == 1
    assert Platform.took[0]["status"] == "ACCEPTED"


def test_a_rolled_back_event_leaves_no_message(client, session, platform):
    world(session)
    code = post_signed(client, "/api/v1/hotline/orders", an_order()).json()["case_code"]
    session.commit()
    before = session.scalar(select(func.count()).select_from(HotlineOutbox))
    with pytest.raises(RuntimeError), session.begin_nested():
        _dispatch(session, code)
        raise RuntimeError("the request failed after the event")
    session.commit()
    assert session.scalar(select(func.count()).select_from(HotlineOutbox)) == before


def test_returning_an_order_within_the_window_and_after_it(client, session, platform):
    world(session)
    old = utcnow() - dt.timedelta(days=20)
    fresh = post_signed(client, "/api/v1/hotline/orders", an_order(no="A1")).json()["case_code"]
    late = post_signed(
        client, "/api/v1/hotline/orders", an_order(no="A2", receivedAt=old.isoformat())
    ).json()["case_code"]
    login(client, "oper")
    r = client.post(f"/api/v1/hotline/cases/{fresh}/return", json={"reason": "不属本区管辖"})
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/hotline/cases/{late}/return", json={"reason": "不属本区管辖"})
    assert r.status_code == 409 and "退单期限" in r.json()["detail"]
    [returned] = [m for m in _outbox(session) if m.status == "returned"]
    assert returned.body["reason"] == "不属本区管辖" and returned.body["status"] == "RETURNED"


def test_the_callers_satisfaction_comes_back_as_the_rating(client, session, platform):
    world(session)
    settings = get_settings()
    code = post_signed(client, "/api/v1/hotline/orders", an_order()).json()["case_code"]
    case = _dispatch(session, code)
    ha = Actor("ha", "handler", frozenset({"239901001"}))
    cases_service.transition(session, settings, case, "take", actor=ha)
    cases_service.act(session, settings, case, "report_done", actor=ha, photos=[("a.jpg", jpeg())])
    cases_service.transition(
        session, settings, case, "verify_pass", actor=Actor("disp", "dispatcher"), note="ok"
    )
    r = post_signed(
        client,
        "/api/v1/hotline/satisfaction",
        {"orderNo": "HX2026113000001", "satisfaction": "satisfied"},
    )
    assert r.status_code == 200, r.text
    session.expire_all()
    assert cases_service.get_case(session, code).score == 4
    bad = post_signed(
        client, "/api/v1/hotline/satisfaction", {"orderNo": "HX2026113000001", "satisfaction": 9}
    )
    assert bad.status_code == 400 and bad.json()["field"] == "satisfaction"


def test_the_poller_brings_orders_once(session, platform):
    world(session)
    settings = get_settings()
    Platform.orders = [an_order(no="P1"), an_order(no="P2"), an_order(no="P3", category="ZZ")]
    assert service.poll(session, settings) == {"new": 2, "known": 0, "refused": 1}
    assert service.poll(session, settings) == {"new": 0, "known": 2, "refused": 1}
    assert hotline_cases(session) == 2


def test_webhook_and_poller_at_once_make_one_case(committed, monkeypatch, platform):
    """Two doors, one order, the same moment: the unique number keeps it one case."""
    with committed() as s:
        world(s)
        s.commit()
    settings = get_settings()
    results = []

    def receive():
        with committed() as s:
            try:
                order, created = service.receive_order(s, settings, an_order(no="RACE"))
                s.commit()
                results.append(created)
            except Exception as exc:  # noqa: BLE001
                results.append(exc)

    threads = [threading.Thread(target=receive) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with committed() as s:
        assert hotline_cases(s) == 1
    assert sorted(map(str, results)).count("True") == 1


def test_poll_and_send_are_off_without_their_urls(session):
    settings = get_settings()
    assert "off" in service.poll(session, settings)
    assert "off" in service.send_due(session, settings)
    with pytest.raises(httpx.HTTPError):
        service.post_status(
            settings.model_copy(update={"hotline_status_url": "http://127.0.0.1:1/x"}),
            {},
            client=httpx.Client(timeout=0.5),
        )


def test_a_new_order_is_told_to_whoever_wants_it(client, session, platform):
    from civicgrid.kit import notify

    world(session)
    login(client, "disp")
    r = client.put(
        "/api/v1/hotline/preferences/me",
        json={"sms": "13900000001", "events": ["hotline_order"], "quiet_start": "22:00"},
    )
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/hotline/preferences/me").json()["events"] == ["hotline_order"]
    bad = client.put("/api/v1/hotline/preferences/me", json={"quiet_end": "25:00"})
    assert bad.status_code == 422
    unknown = client.put("/api/v1/hotline/preferences/me", json={"events": ["nope"]})
    assert unknown.status_code == 422
    client.cookies.clear()
    log = notify.log_provider("sms")
    log.sent.clear()
    assert post_signed(client, "/api/v1/hotline/orders", an_order(no="N1")).status_code == 201
    [told] = log.sent
    assert told.to == "13900000001" and "N1" in told.body
    # a refused order tells nobody
    post_signed(client, "/api/v1/hotline/orders", an_order(no="N2", category="ZZ"))
    assert len(log.sent) == 1


def test_a_plain_reject_past_the_window_is_dead_at_once_and_an_admin_is_told(
    client, session, platform
):
    from civicgrid.kit import notify

    world(session)
    settings = get_settings()
    service.set_preference(session, "boss", wecom="ROBOTKEY", events=["outbox_dead"])
    old = (utcnow() - dt.timedelta(days=20)).isoformat()
    code = post_signed(client, "/api/v1/hotline/orders", an_order(receivedAt=old)).json()[
        "case_code"
    ]
    case = cases_service.get_case(session, code)
    cases_service.transition(
        session, settings, case, "reject", actor=Actor("disp", "dispatcher"), note="重复"
    )
    session.commit()
    [returned] = _outbox(session)
    assert returned.state == "dead" and "window" in returned.last_error
    assert service.send_due(session, settings) == {"sent": 0, "retry": 0, "dead": 0}
    # a message that dies in the sender is told to whoever asked (WeChat Work: the log here)
    log = notify.log_provider("wecom")
    log.sent.clear()
    service.resend(session, returned.id)
    session.commit()
    Platform.plan = ["refuse"] * 3
    for n in range(3):
        service.send_due(session, settings, now=utcnow() + dt.timedelta(hours=n))
    assert [m.to for m in log.sent] == ["ROBOTKEY"] and "returned" in log.sent[0].body
    assert returned.order_no in log.sent[0].body


def test_attachments_from_allowed_hosts_become_the_cases_photos(
    client, session, platform, monkeypatch
):
    from civicgrid.media import service as media_service

    world(session)
    monkeypatch.setenv("CIVICGRID_HOTLINE_ATTACHMENT_HOSTS", "127.0.0.1")
    monkeypatch.setenv("CIVICGRID_HOTLINE_ATTACHMENT_PRIVATE", "true")
    get_settings.cache_clear()
    files = [
        f"{platform}/files/photo.jpg",
        f"{platform}/files/letter.pdf",
        "http://x.invalid/a.jpg",
    ]
    r = post_signed(client, "/api/v1/hotline/orders", an_order(attachments=files))
    code = r.json()["case_code"]
    assert service.fetch_attachments(session, get_settings()) == {"stored": 1, "refused": 2}
    assert service.fetch_attachments(session, get_settings()) == {"stored": 0, "refused": 0}
    case = cases_service.get_case(session, code)
    assert [p.stage for p in media_service.photos_of(session, case.id)] == ["report"]
    order = service.queries.order_by_no(session, "HX2026113000001")
    assert [a["state"] for a in order.attachments] == ["stored", "refused", "refused"]
