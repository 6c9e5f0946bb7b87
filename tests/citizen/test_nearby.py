"""Before you report: open public cases near the pin (the duplicate rule), "我也遇到这个问题",
the phone page's required fields, and the SMS a case's life sends to its citizens."""

import datetime as dt
import os

from civicgrid.cases import policy as case_policy
from civicgrid.cases import service as case_service
from civicgrid.citizen import service
from civicgrid.config import get_settings
from civicgrid.geo import datum
from civicgrid.kit import notify
from civicgrid.kit.db import utcnow
from civicgrid.kit.ratelimit import _memory
from tests.citizen.test_citizen import close, report
from tests.factories import POINT_A, login, world

NEAR = (POINT_A[0] + 0.0002, POINT_A[1])  # about 16 m east
FAR = (POINT_A[0] + 0.002, POINT_A[1])  # about 155 m east


def nearby(client, point, **params):
    r = client.get("/api/v1/citizen/nearby", params={"lon": point[0], "lat": point[1], **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_nearby_cases_follow_the_duplicate_rule_and_the_public_policy(client, session):
    # Given a citizen's report, a hotline (internal) case beside it, and an old report
    _memory.reset()
    world(session)
    first = report(client).json()
    login(client, "oper")
    client.post(
        "/api/v1/cases",
        json={"category": "06010", "lon": NEAR[0], "lat": NEAR[1], "source": "hotline"},
    )
    client.cookies.clear()
    settings = get_settings()
    old = service.submit(
        session,
        settings,
        category="06010",
        lon=POINT_A[0],
        lat=POINT_A[1],
        at=utcnow() - dt.timedelta(days=settings.duplicate_days, minutes=1),
    )
    session.flush()
    # When the phone asks what is open near a pin 16 m away
    found = nearby(client, NEAR)
    # Then only the public, recent one, at its distance, with its public page
    assert [f["code"] for f in found] == [first["code"]]
    assert 14 < found[0]["distance_m"] < 18 and found[0]["url"] == f"/reports/{first['code']}"
    assert found[0]["followers"] == 0 and "phone" not in found[0]
    assert old.case.code not in {f["code"] for f in nearby(client, POINT_A)}
    # 155 m away: outside the radius; another category: not the same problem
    assert nearby(client, FAR) == []
    assert nearby(client, NEAR, category="01001") == []
    assert [f["code"] for f in nearby(client, NEAR, category="06010")] == [first["code"]]
    # the same rule as the duplicates offered after a report (which name internal cases too)
    second = report(client, point=NEAR).json()
    assert second["possible_duplicates"][0] == first["code"]
    assert len(second["possible_duplicates"]) == 2
    # a pin in GCJ-02 (a phone map's) is converted
    gcj = datum.from_wgs84(*NEAR, "gcj02")
    assert {f["code"] for f in nearby(client, gcj, datum="gcj02")} == {
        first["code"],
        second["code"],
    }
    # bad input: 400 for a datum or a range, never a 500
    assert (
        client.get("/api/v1/citizen/nearby", params={"lon": 1, "lat": 2, "datum": "x"}).status_code
        == 400
    )
    assert client.get("/api/v1/citizen/nearby", params={"lon": 500, "lat": 2}).status_code == 400


def test_i_have_this_problem_too_counts_once_per_phone(client, session):
    _memory.reset()
    world(session)
    first = report(client).json()
    url = f"/api/v1/citizen/cases/{first['code']}/follow"
    r = client.post(url, json={"phone": "139-0000-3333"})
    assert r.status_code == 200, r.text
    assert r.json() == {"code": first["code"], "followers": 1}
    assert client.post(url, json={"phone": "13900003333"}).json()["followers"] == 1
    assert client.post(url, json={}).json()["followers"] == 2  # anonymous: counted each time
    assert nearby(client, POINT_A)[0]["followers"] == 2
    assert client.post(url, json={"phone": "12"}).status_code == 400
    # an internal case is not found; a closed one cannot be followed
    login(client, "oper")
    hotline = client.post(
        "/api/v1/cases",
        json={"category": "06010", "lon": FAR[0], "lat": FAR[1], "source": "hotline"},
    ).json()
    client.cookies.clear()
    r = client.post(f"/api/v1/citizen/cases/{hotline['code']}/follow", json={})
    assert r.status_code == 404
    close(session, first["code"])
    session.flush()
    r = client.post(url, json={})
    assert r.status_code == 409 and "重新上报" in r.json()["detail"]


def test_the_required_fields_are_enforced_by_the_server(client, session, monkeypatch):
    _memory.reset()
    monkeypatch.setenv("CIVICGRID_REPORT_REQUIRES", "photo_or_words,place")
    world(session)
    r = report(client, photos=0, point=None, description="")
    assert r.status_code == 400
    assert "照片或问题描述" in r.json()["detail"] and "位置" in r.json()["detail"]
    assert report(client, photos=0, point=None).status_code == 400  # words, no place
    assert report(client, photos=0, point=None, address="红旗大街1号").status_code == 201
    assert report(client, photos=1, point=POINT_A, description="").status_code == 201
    monkeypatch.setenv("CIVICGRID_REPORT_REQUIRES", "phone")
    get_settings.cache_clear()
    assert report(client, photos=0, phone="").status_code == 400


def test_a_cases_life_tells_its_reporter_and_followers_each_public_step(client, session):
    # Given a citizen's report with a phone, routed at once, and a follower with a phone
    _memory.reset()
    world(session)
    base = "https://civic.example.org"
    os.environ["CIVICGRID_PUBLIC_BASE_URL"] = base
    get_settings.cache_clear()
    sms = notify.log_provider("sms")
    sms.sent.clear()
    try:
        first = report(client, phone="13900002222").json()
        code = first["code"]
        client.post(f"/api/v1/citizen/cases/{code}/follow", json={"phone": "13700001111"})
        client.post(f"/api/v1/citizen/cases/{code}/follow", json={})  # no phone: not told
        case = case_service.get_case(session, code)
        handler = case_policy.Actor("ha", "handler", frozenset({case.unit_code}))
        steps = [
            ("take", handler, {}),
            ("urge", case_policy.Actor("d", "dispatcher"), {"note": "请尽快"}),
            ("report_done", handler, {"note": "已清理", "photos": 1}),
            ("verify_pass", case_policy.Actor("d", "dispatcher"), {"note": "已核实"}),
        ]
        for action, actor, extra in steps:
            case_service.transition(session, get_settings(), case, action, actor=actor, **extra)
            session.commit()
        # a rolled-back step tells nobody
        case_service.transition(
            session, get_settings(), case, "comment", actor=handler, note="x", public=True
        )
        session.rollback()
    finally:
        del os.environ["CIVICGRID_PUBLIC_BASE_URL"]
        get_settings.cache_clear()
    # Then: the report (accepted and dispatched in one write) makes one message to its
    # reporter; each later public step one to the reporter and one to the follower
    said = [(m.to, m.subject, m.body) for m in sms.sent]
    link = f" 详情 {base}/reports/{code}"
    assert said == [
        ("13900002222", "案件进展", f"您反映的问题 {code}: 已派遣至东风街道{link}"),
        ("13900002222", "案件进展", f"您反映的问题 {code}: 处置中{link}"),
        ("13700001111", "案件进展", f"您反映的问题 {code}: 处置中{link}"),
        ("13900002222", "案件进展", f"您反映的问题 {code}: 已处置待核查{link}"),
        ("13700001111", "案件进展", f"您反映的问题 {code}: 已处置待核查{link}"),
        ("13900002222", "案件结案", f"您反映的问题 {code} 已处理完毕, 感谢监督{link}"),
        ("13700001111", "案件结案", f"您反映的问题 {code} 已处理完毕, 感谢监督{link}"),
    ]


def test_the_qr_code_of_the_tracking_link_is_for_the_holder_of_its_secret(client, session):
    _memory.reset()
    world(session)
    done = report(client).json()
    r = client.get(f"/track/{done['code']}/qr.svg", params={"s": done["secret"]})
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert r.headers["cache-control"] == "no-store"
    svg = r.text
    assert "<svg" in svg and "<script" not in svg and "style" not in svg  # CSP: none needed
    assert client.get(f"/track/{done['code']}/qr.svg", params={"s": "wrong"}).status_code == 404
