import json

from sqlalchemy import select
from typer.testing import CliRunner

from civicgrid.cases import policy as case_policy
from civicgrid.cases import service as case_service
from civicgrid.cases.models import Case, CaseContact
from civicgrid.cli import app as cli
from civicgrid.config import Settings
from civicgrid.kit.ratelimit import _memory
from tests.factories import POINT_A, login, world
from tests.images import jpeg

runner = CliRunner()


def report(client, photos=1, point=POINT_A, **fields):
    data = {
        "category": "06010",
        "description": "路边一堆垃圾",
        "phone": "13900002222",
        **({"lon": point[0], "lat": point[1]} if point else {}),
        **fields,
    }
    files = [
        ("photos", (f"p{i}.jpg", jpeg(color=(i * 40, 90, 90)), "image/jpeg")) for i in range(photos)
    ]
    return client.post("/api/v1/citizen/reports", data=data, files=files or None)


def close(session, code: str) -> Case:
    case = case_service.get_case(session, code)
    settings = Settings()
    handler = case_policy.Actor("ha", "handler", frozenset({case.unit_code}))
    for action, actor in (
        ("take", handler),
        ("report_done", handler),
        ("verify_pass", case_policy.Actor("d", "dispatcher")),
    ):
        # the evidence a live step brings (an after-photo's count, a verify's note)
        case_service.transition(
            session, settings, case, action, actor=actor, note="已核实", photos=1
        )
    return case


def test_report_track_rate_once(client, session):
    _memory.reset()
    world(session)
    r = report(client, photos=2)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["state"] == "dispatched" and body["unit"] == "239901001"
    assert body["track_url"] == f"/track/{body['code']}?s={body['secret']}"
    track = client.get(f"/api/v1/citizen/cases/{body['code']}", params={"s": body["secret"]})
    view = track.json()
    assert view["unit"] == "东风街道" and view["can_rate"] is False
    assert [p["stage"] for p in view["photos"]] == ["report", "report"]
    assert client.get(view["photos"][0]["url"]).headers["content-type"] == "image/jpeg"
    assert "13900002222" not in track.text
    # a wrong secret finds nothing
    assert (
        client.get(f"/api/v1/citizen/cases/{body['code']}", params={"s": "guess"}).status_code
        == 404
    )
    rate = {"s": body["secret"], "score": 5, "comment": "很快"}
    assert client.post(f"/api/v1/citizen/cases/{body['code']}/rate", json=rate).status_code == 409
    close(session, body["code"])
    r = client.post(f"/api/v1/citizen/cases/{body['code']}/rate", json=rate)
    assert r.status_code == 200 and r.json()["score"] == 5
    r = client.post(f"/api/v1/citizen/cases/{body['code']}/rate", json={**rate, "score": 1})
    assert r.status_code == 409 and "已评价" in r.json()["detail"]


def test_a_low_rating_comes_back_to_the_dispatcher(client, session):
    _memory.reset()
    world(session)
    body = report(client).json()
    close(session, body["code"])
    client.post(
        f"/api/v1/citizen/cases/{body['code']}/rate",
        json={"s": body["secret"], "score": 2, "comment": "没有处理干净"},
    )
    login(client, "disp")
    queue = client.get("/api/v1/cases", params={"queue": "complaint"}).json()["items"]
    assert [c["code"] for c in queue] == [body["code"]]


def test_a_photo_without_location_gives_its_gps(client, session):
    _memory.reset()
    world(session)
    data = {"category": "06010", "description": "无定位"}
    files = [("photos", ("gps.jpg", jpeg(exif_gps=POINT_A), "image/jpeg"))]
    body = client.post("/api/v1/citizen/reports", data=data, files=files).json()
    case = case_service.get_case(session, body["code"])
    assert case.grid_code == "239901001001001"
    assert abs(case.lon - POINT_A[0]) < 1e-5 and abs(case.lat - POINT_A[1]) < 1e-5


def test_a_bad_photo_refuses_the_whole_report(client, session, tmp_path, monkeypatch):
    _memory.reset()
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path))
    world(session)
    data = {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]}
    files = [
        ("photos", ("ok.jpg", jpeg(), "image/jpeg")),
        ("photos", ("bad.jpg", b"not an image", "image/jpeg")),
    ]
    r = client.post("/api/v1/citizen/reports", data=data, files=files)
    assert r.status_code == 400 and r.json()["error"] == "bad_photo"
    assert session.scalar(select(Case.id)) is None
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_duplicates_are_offered_and_merged(client, session):
    _memory.reset()
    world(session)
    first = report(client).json()
    second = report(client, point=(POINT_A[0] + 0.0002, POINT_A[1])).json()  # about 16 m
    assert second["possible_duplicates"] == [first["code"]]
    far = report(client, point=(POINT_A[0] + 0.002, POINT_A[1])).json()  # about 155 m
    assert far["possible_duplicates"] == []
    login(client, "disp")
    r = client.post(f"/api/v1/cases/{second['code']}/merge", json={"into": first["code"]})
    assert r.status_code == 409  # dispatched already: reject is not allowed now
    hotline = client.post(
        "/api/v1/cases",
        json={"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1], "source": "hotline"},
    ).json()
    r = client.post(f"/api/v1/cases/{hotline['code']}/merge", json={"into": first["code"]})
    assert r.status_code == 200
    assert r.json()["state"] == "rejected" and r.json()["duplicate_of"] == first["code"]


def test_reports_are_rate_limited_per_phone(client, session, monkeypatch):
    _memory.reset()
    monkeypatch.setenv("CIVICGRID_REPORTS_PER_HOUR_PER_PHONE", "2")
    world(session)
    assert report(client, photos=0).status_code == 201
    assert report(client, photos=0).status_code == 201
    r = report(client, photos=0)
    assert r.status_code == 429 and "频繁" in r.json()["detail"]
    assert report(client, photos=0, phone="13700000000").status_code == 201
    _memory.reset()


def test_suggestions_from_free_text(client, session):
    found = client.get("/api/v1/citizen/suggest", params={"text": "小区门口有人露天烧烤"}).json()
    assert found[0]["code"] == "06029"
    found = client.get("/api/v1/citizen/suggest", params={"text": "井盖丢了"}).json()
    assert {"01001", "01002", "01003"} & {f["code"] for f in found}


def test_personal_data_export_and_erase_keep_the_case(client, session):
    _memory.reset()
    world(session)
    code = report(client).json()["code"]
    result = runner.invoke(cli, ["citizen", "export", "--phone", "13900002222"])
    assert result.exit_code == 0
    assert json.loads(result.output)[0]["case"] == code
    result = runner.invoke(cli, ["citizen", "erase", "--phone", "13900002222", "--yes"])
    assert result.exit_code == 0 and "1 case" in result.output
    case = case_service.get_case(session, code)
    assert session.get(CaseContact, case.id).phone == ""
    assert (
        json.loads(runner.invoke(cli, ["citizen", "export", "--phone", "13900002222"]).output) == []
    )


def test_apikey_cli(session):
    from civicgrid.open311 import service as o311

    result = runner.invoke(cli, ["apikey", "add", "微信小程序"])
    assert result.exit_code == 0 and "o311_" in result.output
    key_id = result.output.split()[2]
    plain = result.output.split()[-1]
    assert o311.key_valid(session, plain)
    assert "微信小程序" in runner.invoke(cli, ["apikey", "list"]).output
    assert runner.invoke(cli, ["apikey", "revoke", key_id]).exit_code == 0
    assert not o311.key_valid(session, plain)
    assert runner.invoke(cli, ["apikey", "revoke", "999999"]).exit_code == 1
