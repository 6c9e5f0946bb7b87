"""The administrators' people (issue #14 item 9): accounts listed (paged, searchable), created,
edited (name, phone, roles, unit, grids), their password reset, disabled and enabled — the
JSON routes under /api/v1/admin/users, each write in the audit log, and the page in words."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from civicgrid.kit.audit import AuditEntry
from tests.factories import COMMUNITY_A, PASSWORD, SITE, STREET_B, login, world

NEW_PASSWORD = "another-horse-battery-7"
GRID_1 = "239901001001001"
GRID_2 = "239901001001002"
USERS = "/api/v1/admin/users"


@pytest.fixture()
def people(session):
    world(session)
    session.flush()


def new_client(app) -> TestClient:
    return TestClient(app, headers=SITE)


def test_anonymous_gets_401_and_a_non_admin_403(client, people):
    assert client.get(USERS).status_code == 401
    assert client.post(f"{USERS}/ha/disable").status_code == 401
    login(client, "disp")
    assert client.get(USERS).status_code == 403
    assert client.patch(f"{USERS}/ha", json={"name": "x"}).status_code == 403
    assert client.post(f"{USERS}/ha/disable").status_code == 403
    r = client.get("/admin/people")
    assert r.status_code == 403 and "此页面仅限管理员使用" in r.text


def test_the_list_pages_and_searches(client, people):
    login(client, "boss")
    everyone = client.get(USERS, params={"per_page": 500}).json()
    assert everyone["total"] == 9 == len(everyone["items"])
    names = [u["username"] for u in everyone["items"]]
    assert names == sorted(names)
    # page by page, every account once
    seen = []
    for page in range(1, 6):
        r = client.get(USERS, params={"per_page": 2, "page": page}).json()
        assert r["total"] == 9
        seen += [u["username"] for u in r["items"]]
    assert seen == names
    # found by username, role, state and a run of phone digits
    assert [u["username"] for u in client.get(USERS, params={"q": "dis"}).json()["items"]] == [
        "disp"
    ]
    handlers = client.get(USERS, params={"role": "handler"}).json()
    assert {u["username"] for u in handlers["items"]} == {"ha", "hb", "hs", "sta"}
    assert client.get(USERS, params={"role": "king"}).status_code == 400
    client.patch(f"{USERS}/hb", json={"phones": ["139-1234-5678"]})
    assert [u["username"] for u in client.get(USERS, params={"q": "2345"}).json()["items"]] == [
        "hb"
    ]
    client.post(f"{USERS}/hs/disable")
    off = client.get(USERS, params={"disabled": True}).json()
    assert [u["username"] for u in off["items"]] == ["hs"]


def test_create_with_grids_then_edit_everything(client, people, session):
    login(client, "boss")
    body = {
        "username": "grid7",
        "password": NEW_PASSWORD,
        "name": "网格员七",
        "org_unit": COMMUNITY_A,
        "roles": ["supervisor"],
        "phones": ["13912340007"],
        "areas": [GRID_1],
    }
    r = client.post(USERS, json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["areas"][0]["code"] == GRID_1 and made["areas"][0]["name"]
    assert made["last_sign_in"] is None and made["disabled"] is False
    assert client.post(USERS, json=body).status_code == 409  # the username is taken
    # When everything is changed
    r = client.patch(
        f"{USERS}/grid7",
        json={
            "name": "网格员柒",
            "title": "网格员",
            "phones": ["13912340008", "0451-8888 0007"],
            "org_unit": STREET_B,
            "roles": ["supervisor", "handler"],
            "areas": [GRID_2],
        },
    )
    assert r.status_code == 200, r.text
    # Then it reads back changed, the grids replaced
    got = client.get(f"{USERS}/grid7").json()
    assert got["name"] == "网格员柒" and got["title"] == "网格员"
    assert got["phones"] == ["13912340008", "045188880007"]
    assert got["org_unit"] == STREET_B and got["roles"] == ["supervisor", "handler"]
    assert [a["code"] for a in got["areas"]] == [GRID_2]
    # and the directory finds the person by the new name's initials
    assert any(p["name"] == "网格员柒" for p in client.get("/api/v1/org/people?q=wgyq").json())
    # a partial change leaves the rest
    client.patch(f"{USERS}/grid7", json={"title": ""})
    got = client.get(f"{USERS}/grid7").json()
    assert got["title"] == "" and got["name"] == "网格员柒"


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"roles": ["king"]}, 400),
        ({"roles": []}, 400),
        ({"org_unit": "000"}, 404),
        ({"areas": ["239901999999999"]}, 400),
        ({"phones": ["call me"]}, 400),
        ({"name": ""}, 400),
        ({"name": "x" * 61}, 400),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(client, people, change, status):
    login(client, "boss")
    before = client.get(f"{USERS}/sup").json()
    r = client.patch(f"{USERS}/sup", json={**change, "title": "改了"})
    assert r.status_code == status, r.text
    assert client.get(f"{USERS}/sup").json() == before


def test_unknown_user_is_404_and_a_bad_name_400(client, people):
    login(client, "boss")
    assert client.get(f"{USERS}/nobody").status_code == 404
    assert client.patch(f"{USERS}/nobody", json={"name": "x"}).status_code == 404
    assert client.get(f"{USERS}/bad%20name").status_code == 400


def test_disable_ends_sessions_and_tokens_and_enable_lets_in_again(app, client, people):
    # Given a handler signed in by a session and holding a bearer token
    ha = new_client(app)
    login(ha, "ha")
    token = ha.post("/api/v1/auth/tokens", json={"name": "phone"}).json()["token"]
    assert ha.get("/api/v1/auth/me").status_code == 200
    # When an admin disables the account
    login(client, "boss")
    r = client.post(f"{USERS}/ha/disable")
    assert r.status_code == 200 and r.json()["disabled"] is True
    # Then the session and the token are refused at once, and signing in too
    assert ha.get("/api/v1/auth/me").status_code == 401
    bearer = {"Authorization": f"Bearer {token}"}
    assert new_client(app).get("/api/v1/auth/me", headers=bearer).status_code == 401
    r = new_client(app).post("/api/v1/auth/login", json={"username": "ha", "password": PASSWORD})
    assert r.status_code == 401
    # When enabled again, the password signs in (the old token stays revoked)
    assert client.post(f"{USERS}/ha/enable").json()["disabled"] is False
    login(new_client(app), "ha")
    assert new_client(app).get("/api/v1/auth/me", headers=bearer).status_code == 401


def test_reset_password_ends_sessions_and_the_new_one_signs_in(app, client, people):
    ha = new_client(app)
    login(ha, "ha")
    login(client, "boss")
    r = client.post(f"{USERS}/ha/password", json={"password": "ha"})
    assert r.status_code == 400  # the password rule holds
    assert ha.get("/api/v1/auth/me").status_code == 200
    r = client.post(f"{USERS}/ha/password", json={"password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    assert ha.get("/api/v1/auth/me").status_code == 401
    login(new_client(app), "ha", NEW_PASSWORD)


def test_an_admin_cannot_shut_themselves_out(client, people):
    login(client, "boss")
    r = client.post(f"{USERS}/boss/disable")
    assert r.status_code == 409 and "不能停用自己的账户" in r.json()["detail"]
    r = client.patch(f"{USERS}/boss", json={"roles": ["leader"]})
    assert r.status_code == 409
    assert client.get(f"{USERS}/boss").json()["roles"] == ["admin"]


def test_each_write_is_in_the_audit_log_by_the_admin(client, people, session):
    login(client, "boss")
    client.patch(f"{USERS}/sup", json={"name": "张监督", "areas": [GRID_1]})
    client.post(f"{USERS}/sup/password", json={"password": NEW_PASSWORD})
    client.post(f"{USERS}/sup/disable")
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.actor == "user:boss").order_by(AuditEntry.id)
    ).all()
    tables = {e.table_name for e in entries}
    assert {"people", "areas", "users"} <= tables
    people_change = next(e for e in entries if e.table_name == "people")
    assert people_change.after["name"] == "张监督"
    grid = next(e for e in entries if e.table_name == "areas")
    assert "sup" in grid.after["responsible"]
    users = [e for e in entries if e.table_name == "users"]
    assert any(e.after.get("password_hash") == "***" for e in users)
    assert any(e.after.get("disabled") is True for e in users)
    assert not any("argon2" in str(e.after) for e in entries)


def test_the_page_shows_people_in_words(client, people):
    login(client, "disp")  # a sign-in to show
    login(client, "boss")
    client.patch(f"{USERS}/sup", json={"areas": [GRID_1], "phones": ["13900001111"]})
    html = client.get("/admin/people").text
    # roles and units by name, phones, state, last sign-in (or never), grids by name
    assert "派遣员" in html and "监督员" in html and "管理员" in html
    assert "指挥中心" in html and "13900001111" in html and "在用" in html
    assert "从未登录" in html  # most never signed in
    row = html.split('<td translate="no">disp</td>', 1)[1].split("</tr>", 1)[0]
    assert "从未登录" not in row and "20" in row  # the date of the sign-in
    assert "网格" in html.split('<td translate="no">sup</td>', 1)[1].split("</tr>", 1)[0]
    assert ">dispatcher<" not in html and ">supervisor<" not in html  # no codes as words
    # searched and paged
    html = client.get("/admin/people", params={"q": "sup"}).text
    assert 'href="/admin/people/sup"' in html and 'href="/admin/people/disp"' not in html
    # in English
    client.cookies.set("lang", "en")
    html = client.get("/admin/people").text
    assert "Dispatcher" in html and "Supervisor" in html and "People and accounts" in html
    # one person's page
    client.cookies.set("lang", "zh")
    html = client.get("/admin/people/sup").text
    assert "重置密码" in html and "停用账户" in html and GRID_1 in html
    assert client.get("/admin/people/nobody").status_code == 404
