import io

from openpyxl import load_workbook

from civicgrid.org import service as org_service
from tests.factories import login, small_geography, user


def setup_people(session):
    small_geography(session)
    user(session, "zqs", ["supervisor"], "239901001", phones=["13912341234"], name="张秋生")
    user(session, "lh", ["handler"], "239901002", phones=["13800005678"], name="李华")
    user(session, "boss", ["admin"], "239901")


def test_initials_cover_every_reading_of_polyphonic_names():
    assert org_service.name_initials("张秋生") == "zqs"
    assert "zc" in org_service.name_initials("曾长").split()  # 曾 zeng/ceng, 长 chang/zhang


def test_mask_keeps_three_and_four():
    assert org_service.mask_phone("13812341234") == "138****1234"


def test_anonymous_gets_401_with_a_json_body(client, session):
    r = client.get("/api/v1/org/people")
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized" and "登录" in r.json()["detail"]


def test_search_by_initials_name_and_phone_digits(client, session):
    setup_people(session)
    login(client, "lh")
    names = lambda q: [p["name"] for p in client.get("/api/v1/org/people", params={"q": q}).json()]  # noqa: E731
    assert names("zqs") == ["张秋生"]
    assert names("ZQ") == ["张秋生"]
    assert names("秋") == ["张秋生"]
    assert names("1234") == ["张秋生"]
    assert names("5678") == ["李华"]
    assert names("9999") == []


def test_phone_is_whole_for_the_same_unit_and_admins_masked_for_others(client, session):
    setup_people(session)
    user(session, "zqs2", ["supervisor"], "239901001", name="王五")
    login(client, "lh")  # another street
    zqs = client.get("/api/v1/org/people", params={"q": "zqs"}).json()[0]
    assert zqs["phones"] == ["139****1234"]
    login(client, "zqs2")  # same unit
    assert client.get("/api/v1/org/people", params={"q": "zqs"}).json()[0]["phones"] == [
        "13912341234"
    ]
    login(client, "boss")
    assert client.get("/api/v1/org/people", params={"q": "zqs"}).json()[0]["phones"] == [
        "13912341234"
    ]


def test_tree_nests_streets_and_communities(client, session):
    setup_people(session)
    login(client, "lh")
    tree = client.get("/api/v1/org/tree").json()
    district = tree[0]["children"][0]
    assert district["code"] == "239901"
    street = next(c for c in district["children"] if c["code"] == "239901001")
    assert [c["code"] for c in street["children"]] == ["239901001001"]


def test_vcard_and_xlsx_exports_mask_as_the_viewer_must_see(client, session):
    setup_people(session)
    login(client, "lh")
    r = client.get("/api/v1/org/people.vcf")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/vcard")
    assert "BEGIN:VCARD" in r.text and "FN:张秋生" in r.text
    assert "TEL;TYPE=CELL:139****1234" in r.text and "13912341234" not in r.text
    assert "TEL;TYPE=CELL:13800005678" in r.text  # own unit
    r = client.get("/api/v1/org/people.xlsx", params={"q": "zqs"})
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.values)
    assert rows[0][:2] == ("姓名", "职务")
    assert rows[1][0] == "张秋生" and rows[1][4] == "139****1234"


def test_only_admins_create_units_and_people(client, session):
    setup_people(session)
    login(client, "lh")
    body = {
        "code": "239901903",
        "name": "园林所",
        "kind": "department",
        "parent": "239901",
        "dept_type": "园林绿化部门",
    }
    assert client.post("/api/v1/org/units", json=body).status_code == 403
    login(client, "boss")
    assert client.post("/api/v1/org/units", json=body).status_code == 201
    assert client.post("/api/v1/org/units", json=body).status_code == 409
    bad = {**body, "code": "x1", "kind": "club"}
    r = client.post("/api/v1/org/units", json=bad)
    assert r.status_code == 400 and "kind" in r.json()["detail"]
    r = client.post(
        "/api/v1/org/people",
        json={"name": "周园", "org_unit": "239901903", "phones": ["0451-8888 1234"]},
    )
    assert r.status_code == 201 and r.json()["phones"] == ["045188881234"]
    r = client.post(
        "/api/v1/org/people", json={"name": "周园", "org_unit": "239901903", "phones": ["call me"]}
    )
    assert r.status_code == 400


def test_tree_folds(client, session):
    # Given the org tree (issue #14 item 9): units with children fold (details/summary)
    setup_people(session)
    login(client, "lh")
    html = client.get("/directory").text
    assert "<details" in html and "<summary>" in html
