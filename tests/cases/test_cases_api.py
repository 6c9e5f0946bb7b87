import io

from PIL import Image

from tests.factories import POINT_A, POINT_B, login, world
from tests.images import jpeg


def new_case(client, point=POINT_A, **extra):
    body = {
        "category": "06010",
        "lon": point[0],
        "lat": point[1],
        # a dispatcher's entry, routed at once as a citizen's report would be
        "auto_dispatch": True,
        "description": "暴露垃圾",
        **extra,
    }
    r = client.post("/api/v1/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_anonymous_gets_401(client, session):
    assert client.get("/api/v1/cases").status_code == 401
    assert client.post("/api/v1/cases/XF1/take", json={}).status_code == 401


def test_the_whole_flow_with_photos(client, session, tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path))
    from civicgrid.config import get_settings

    get_settings.cache_clear()
    world(session)
    login(client, "disp")
    case = new_case(client)
    code = case["code"]
    assert case["state"] == "dispatched" and case["unit"] == "239901001"
    assert case["light"] in ("green", "yellow", "red")  # the clock runs (its colour: now)

    login(client, "ha")
    detail = client.get(f"/api/v1/cases/{code}").json()
    assert detail["allowed_actions"] == ["return", "take", "comment"]
    r = client.post(f"/api/v1/cases/{code}/take", json={"version": detail["version"]})
    assert r.status_code == 200 and r.json()["state"] == "in_progress"
    # a stale version is refused
    r = client.post(f"/api/v1/cases/{code}/report-done", data={"version": detail["version"]})
    assert r.status_code == 409
    r = client.post(
        f"/api/v1/cases/{code}/report-done",
        data={"note": "已清理"},
        files=[("photos", ("after.jpg", jpeg(), "image/jpeg"))],
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "resolved"

    login(client, "sup")
    r = client.post(f"/api/v1/cases/{code}/verify-fail", data={"note": "仍有垃圾"})
    assert r.json()["state"] == "in_progress"
    login(client, "ha")
    client.post(
        f"/api/v1/cases/{code}/report-done",
        data={"note": "再次清理"},
        files=[("photos", ("again.jpg", jpeg(color=(0, 0, 200)), "image/jpeg"))],
    )
    login(client, "sup")
    r = client.post(
        f"/api/v1/cases/{code}/verify-pass",
        data={"note": "现场已清理"},
        files=[("photos", ("check.jpg", jpeg(color=(0, 200, 0)), "image/jpeg"))],
    )
    assert r.json()["state"] == "closed"
    login(client, "oper")
    r = client.post(f"/api/v1/cases/{code}/rate", json={"score": 5, "note": "电话回访"})
    assert r.status_code == 200 and r.json()["score"] == 5

    detail = client.get(f"/api/v1/cases/{code}").json()
    assert [e["action"] for e in detail["timeline"]] == [
        "report",
        "accept",
        "dispatch",
        "take",
        "report_done",
        "verify_fail",
        "report_done",
        "verify_pass",
        "rate",
    ]
    assert [p["stage"] for p in detail["photos"]] == ["done", "done", "verify"]
    img = client.get(detail["photos"][0]["url"])
    assert img.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(img.content)).size == (64, 48)
    thumb = client.get(detail["photos"][0]["thumb_url"])
    assert Image.open(io.BytesIO(thumb.content)).format == "JPEG"


def test_a_bad_photo_refuses_the_action_and_leaves_no_file(client, session, tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path))
    from civicgrid.config import get_settings

    get_settings.cache_clear()
    world(session)
    login(client, "disp")
    code = new_case(client)["code"]
    login(client, "ha")
    client.post(f"/api/v1/cases/{code}/take", json={})
    r = client.post(
        f"/api/v1/cases/{code}/report-done",
        files=[("photos", ("x.jpg", b"this is text, not a photo", "image/jpeg"))],
    )
    assert r.status_code == 400 and r.json()["error"] == "bad_photo"
    assert client.get(f"/api/v1/cases/{code}").json()["state"] == "in_progress"
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_other_streets_do_not_see_the_case(client, session):
    world(session)
    login(client, "disp")
    code = new_case(client)["code"]
    login(client, "hb")
    assert client.get(f"/api/v1/cases/{code}").status_code == 404
    assert client.post(f"/api/v1/cases/{code}/take", json={}).status_code == 404
    assert client.get("/api/v1/cases").json()["items"] == []
    login(client, "ha")
    assert [c["code"] for c in client.get("/api/v1/cases").json()["items"]] == [code]
    login(client, "disp")
    assert client.get(f"/api/v1/cases/{code}").status_code == 200


def test_wrong_role_is_403_and_illegal_move_is_409(client, session):
    world(session)
    login(client, "disp")
    code = new_case(client)["code"]
    login(client, "sup")
    r = client.post(f"/api/v1/cases/{code}/dispatch", json={})
    assert r.status_code == 403
    login(client, "disp")
    r = client.post(f"/api/v1/cases/{code}/verify-pass")
    assert r.status_code == 409
    body = r.json()
    assert body["state"] == "dispatched" and "take" in body["allowed"]
    assert "已派遣" in body["detail"]


def test_manual_accept_and_dispatch_and_return(client, session):
    world(session)
    login(client, "oper")
    case = new_case(client, source="hotline", auto_dispatch=None)
    code = case["code"]
    assert case["state"] == "reported" and case["queue_reason"] == "manual"
    assert client.post(f"/api/v1/cases/{code}/accept", json={}).json()["state"] == "registered"
    login(client, "disp")
    r = client.post(f"/api/v1/cases/{code}/dispatch", json={"unit": "239901002"})
    assert r.json()["unit"] == "239901002" and r.json()["deadline"]
    login(client, "hb")
    r = client.post(f"/api/v1/cases/{code}/return", json={"note": "不属于本街道"})
    assert r.json()["state"] == "registered" and r.json()["queue_reason"] == "returned"
    login(client, "disp")
    r = client.post(f"/api/v1/cases/{code}/dispatch", json={})
    assert r.json()["unit"] == "239901001"  # by the rules: the street of the place
    r = client.post(f"/api/v1/cases/{code}/urge", json={"note": "请尽快处理"})
    assert r.json()["event"]["payload"] == {"to": "239901001"}


def test_filters_and_pagination(client, session):
    world(session)
    login(client, "disp")
    codes = [new_case(client)["code"] for _ in range(3)]
    login(client, "disp")
    codes.append(new_case(client, point=POINT_B, description="井盖丢失")["code"])
    page = client.get("/api/v1/cases", params={"limit": 2}).json()
    assert [c["code"] for c in page["items"]] == [codes[3], codes[2]]
    rest = client.get("/api/v1/cases", params={"limit": 2, "cursor": page["next_cursor"]})
    assert [c["code"] for c in rest.json()["items"]] == [codes[1], codes[0]]
    by = lambda **p: [c["code"] for c in client.get("/api/v1/cases", params=p).json()["items"]]  # noqa: E731
    assert by(street="239901002") == [codes[3]]
    assert by(q="井盖") == [codes[3]]
    assert by(
        bbox=f"{POINT_B[0] - 0.001},{POINT_B[1] - 0.001},{POINT_B[0] + 0.001},{POINT_B[1] + 0.001}"
    ) == [codes[3]]
    assert by(state="closed") == []
    assert client.get("/api/v1/cases", params={"bbox": "1,2"}).status_code == 400
    assert client.get("/api/v1/cases", params={"state": "lost"}).status_code == 400
    assert client.get("/api/v1/cases", params={"light": "blue"}).status_code == 400


def test_lights_lists_for_dispatchers(client, session):
    import datetime as dt

    from civicgrid.cases import intake, policy
    from civicgrid.config import Settings

    world(session)
    old = intake.report(
        session,
        Settings(),
        source="citizen",
        category="06010",
        actor=policy.Actor.citizen(),
        lon=POINT_A[0],
        lat=POINT_A[1],
        at=dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC),
    )
    login(client, "ha")
    assert client.get("/api/v1/cases/lights").status_code == 403
    login(client, "disp")
    lights = client.get("/api/v1/cases/lights").json()
    assert [c["code"] for c in lights["red"]] == [old.code]
    assert lights["red"][0]["light"] == "red"
