import datetime as dt

import xmltodict

from civicgrid.cases import history, workflow
from tests.conftest import DATA
from tests.factories import POINT_A, POINT_B
from tests.images import big_png, jpeg, png_header_only
from tests.open311.conftest import validate

V2 = "/open311/v2"


def post(client, api_key, fmt="json", files=None, **fields):
    data = {
        "api_key": api_key,
        "service_code": "06010",
        "lat": str(POINT_A[1]),
        "long": str(POINT_A[0]),
        "description": "垃圾堆放",
        **fields,
    }
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"{V2}/requests.{fmt}", data=data, files=files)


def test_discovery_json_and_xml(client):
    body = client.get("/open311/discovery.json").json()
    assert body["endpoints"][0]["url"].endswith("/open311/v2/")
    assert "text/xml" in body["endpoints"][0]["formats"]
    xml = xmltodict.parse(client.get("/open311/discovery.xml").text)
    assert xml["discovery"]["endpoints"]["endpoint"]["type"] == "production"


def test_services_are_the_catalogue_with_unique_codes(client, session):
    services = client.get(f"{V2}/services.json").json()
    validate(services, "services.json")
    codes = [s["service_code"] for s in services]
    assert len(codes) == len(set(codes))
    by_code = {s["service_code"]: s for s in services}
    assert by_code["06010"]["service_name"] == "暴露垃圾"
    assert by_code["06010"]["group"] == "市容环境类" and by_code["06010"]["type"] == "realtime"
    assert by_code["01002"]["service_name"] == "污水井盖异常"  # the event stands for both kinds
    assert by_code["01002"]["metadata"] is True and by_code["06010"]["metadata"] is False
    xml = xmltodict.parse(client.get(f"{V2}/services.xml").text)
    assert len(xml["services"]["service"]) == len(services)


def test_service_definition(client, session):
    body = client.get(f"{V2}/services/01002.json").json()
    validate(body, "service-definition.json")
    assert body["attributes"][0]["code"] == "cover_state"
    xml = xmltodict.parse(client.get(f"{V2}/services/01002.xml").text)
    values = xml["service_definition"]["attributes"]["attribute"]["values"]["value"]
    assert [v["key"] for v in values] == ["missing", "broken", "displaced"]
    r = client.get(f"{V2}/services/99999.json")
    assert r.status_code == 404 and r.json()[0]["code"] == 404


def test_post_needs_a_valid_key(client, api_key):
    r = post(client, None)
    assert r.status_code == 403 and r.json() == [
        {"code": 403, "description": "a valid api_key is required"}
    ]
    r = post(client, "o311_forged", fmt="xml")
    assert r.status_code == 403
    assert xmltodict.parse(r.text)["errors"]["error"]["code"] == "403"


def test_a_keyed_client_has_no_address_limit_but_a_phone_has(client, api_key, monkeypatch):
    monkeypatch.setenv("CIVICGRID_REPORTS_PER_HOUR_PER_ADDRESS", "2")
    monkeypatch.setenv("CIVICGRID_REPORTS_PER_HOUR_PER_PHONE", "2")
    assert [post(client, api_key).status_code for _ in range(4)] == [201] * 4
    answers = [post(client, api_key, phone="13900004444") for _ in range(3)]
    assert [r.status_code for r in answers] == [201, 201, 400]
    assert "too many reports from this phone" in answers[2].json()[0]["description"]


def test_post_is_routed_at_once_and_reads_back(client, api_key):
    r = post(
        client,
        api_key,
        email="a@example.org",
        phone="13900001111",
        first_name="张",
        last_name="三",
        device_id="dev-1",
        account_id="acc-9",
    )
    assert r.status_code == 201, r.text
    answer = r.json()
    request_id = answer[0]["service_request_id"]
    assert answer[0]["account_id"] == "acc-9"
    one = client.get(f"{V2}/requests/{request_id}.json").json()
    validate(one, "requests.json")
    req = one[0]
    assert req["status"] == "open" and req["service_code"] == "06010"
    assert req["agency_responsible"] == "东风街道"
    assert req["expected_datetime"] and req["requested_datetime"].endswith("+08:00")
    assert abs(req["lat"] - POINT_A[1]) < 1e-9 and abs(req["long"] - POINT_A[0]) < 1e-9
    text = r.text + client.get(f"{V2}/requests/{request_id}.xml").text
    for private in ("13900001111", "a@example.org", "张 三"):
        assert private not in text
    token = client.get(f"{V2}/tokens/{request_id}.json").json()
    assert token == [{"service_request_id": request_id, "token": request_id}]


def test_post_with_media_multipart_and_attributes(client, api_key):
    r = post(
        client,
        api_key,
        service_code="01002",
        **{"attribute[cover_state]": "missing"},
        files={"media": ("p.jpg", jpeg(), "image/jpeg")},
    )
    assert r.status_code == 201, r.text
    request_id = r.json()[0]["service_request_id"]
    req = client.get(f"{V2}/requests/{request_id}.json").json()[0]
    validate([req], "requests.json")
    assert req["media_url"].startswith("http")
    image = client.get(req["media_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    r = post(client, api_key, service_code="01002", **{"attribute[cover_state]": "stolen"})
    assert r.status_code == 400 and "cover_state" in r.json()[0]["description"]
    r = post(client, api_key, service_code="01002")
    assert r.status_code == 400 and "required" in r.json()[0]["description"]


def test_post_refuses_bad_input_with_400(client, api_key):
    cases = [
        dict(service_code=None),
        dict(service_code="99999"),
        dict(lat=None, long=None),
        dict(lat="north"),
        dict(lat="95"),
        dict(description="x" * 4001),
        dict(long=None),
    ]
    for fields in cases:
        r = post(client, api_key, **fields)
        assert r.status_code == 400, (fields, r.text)
        assert r.json()[0]["code"] == 400
    r = post(client, api_key, lat=None, long=None, address_string="香坊大街12号")
    assert r.status_code == 201  # an address alone is a location: kept for the dispatcher


def test_photo_attacks_are_refused_and_leave_nothing(client, api_key, tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path))
    before = client.get(f"{V2}/requests.json").json()
    attacks = [
        ("text.jpg", b"GIF89a? no, just text pretending to be a photo"),
        ("bomb.png", png_header_only(30_000, 30_000)),
        ("bomb2.png", big_png(30_000, 30_000)),
        ("half.jpg", jpeg(800, 600)[:3000]),
    ]
    for name, data in attacks:
        r = post(client, api_key, files={"media": (name, data, "image/jpeg")})
        assert 400 <= r.status_code < 500, (name, r.status_code)
        assert "photo" in r.json()[0]["description"]
    assert client.get(f"{V2}/requests.json").json() == before
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_get_requests_filters_and_pages(client, session, api_key, env):
    # every source public here: this test is about the filters (the policy has its own tests)
    env(open311_public_sources=",".join(workflow.SOURCES))
    history.import_lines((DATA / "cases-small.jsonl").read_text(encoding="utf-8").splitlines())
    get = lambda **p: client.get(f"{V2}/requests.json", params=p)  # noqa: E731
    body = get(
        start_date="2026-03-01T00:00:00+08:00", end_date="2026-04-01T00:00:00+08:00", page_size=100
    ).json()
    validate(body, "requests.json")
    assert {r["service_request_id"] for r in body} == {f"EX-{n:02d}" for n in range(1, 16)} - {
        "EX-09"
    }
    assert {
        r["service_request_id"]
        for r in get(service_request_id="EX-01,EX-10", service_code="09009").json()
    } == {"EX-01", "EX-10"}
    closed = get(status="closed", start_date="2026-03-01T00:00:00+08:00").json()
    assert {r["service_request_id"] for r in closed} == {
        "EX-01",
        "EX-02",
        "EX-03",
        "EX-04",
        "EX-05",
        "EX-06",
        "EX-07",
        "EX-10",
        "EX-14",
        "EX-15",
    }
    assert all(r["status"] == "closed" for r in closed)
    ex10 = next(r for r in closed if r["service_request_id"] == "EX-10")
    assert ex10["status_notes"] == "不予立案"
    codes = get(service_code="06010,06012", start_date="2026-03-01T00:00:00+08:00").json()
    assert {r["service_code"] for r in codes} == {"06010", "06012"}
    page1 = get(start_date="2026-02-01T00:00:00+08:00", page_size=5, page=1).json()
    page2 = get(start_date="2026-02-01T00:00:00+08:00", page_size=5, page=2).json()
    assert len(page1) == 5 and not {r["service_request_id"] for r in page1} & {
        r["service_request_id"] for r in page2
    }
    after = get(updated_after="2026-03-31T12:00:00+08:00").json()
    assert {r["service_request_id"] for r in after} >= {"EX-07", "EX-15", "EX-11", "EX-08"}
    assert "EX-01" not in {r["service_request_id"] for r in after}
    r = get(start_date="2026-01-01T00:00:00+08:00", end_date="2026-06-01T00:00:00+08:00")
    assert r.status_code == 400 and "90 days" in r.json()[0]["description"]
    assert get(status="pending").status_code == 400
    assert get(start_date="soon").status_code == 400
    assert get(page=0).status_code == 400
    xml = xmltodict.parse(
        client.get(f"{V2}/requests.xml", params={"service_request_id": "EX-01"}).text
    )
    assert xml["service_requests"]["request"]["service_request_id"] == "EX-01"
    assert client.get(f"{V2}/requests/NOPE.json").status_code == 404
    assert client.get(f"{V2}/requests/NOPE.xml").status_code == 404
    assert client.get(f"{V2}/requests.yaml").status_code == 404


def test_dates_carry_an_offset(client, api_key):
    post(client, api_key)
    req = client.get(f"{V2}/requests.json").json()[0]
    moment = dt.datetime.fromisoformat(req["requested_datetime"])
    assert moment.utcoffset() == dt.timedelta(hours=8)
    assert (
        req["expected_datetime"]
        and post(client, api_key, lat=str(POINT_B[1]), long=str(POINT_B[0])).status_code == 201
    )
