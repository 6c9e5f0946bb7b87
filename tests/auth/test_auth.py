import pytest

from tests.factories import PASSWORD, login, small_geography, user


@pytest.fixture()
def people(session):
    small_geography(session)
    user(session, "boss", ["admin"], "239901")
    user(session, "h1", ["handler"], "239901001")


def test_login_sets_an_httponly_samesite_lax_cookie(client, people):
    r = client.post("/api/v1/auth/login", json={"username": "h1", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["roles"] == ["handler"]
    cookie = r.headers["set-cookie"]
    assert "civicgrid_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/api/v1/auth/me").json()["username"] == "h1"
    client.post("/api/v1/auth/logout")
    assert client.get("/api/v1/auth/me").status_code == 401


def test_wrong_password_is_401_with_a_clear_message(client, people):
    r = client.post("/api/v1/auth/login", json={"username": "h1", "password": "nope-nope"})
    assert r.status_code == 401
    assert r.json() == {
        "error": "unauthorized",
        "detail": "用户名或密码错误 / wrong username or password",
        "message": {"zh": "用户名或密码错误", "en": "Wrong username or password"},
    }


def test_a_success_resets_the_count(client, people):
    for _ in range(4):
        client.post("/api/v1/auth/login", json={"username": "h1", "password": "bad-pass"})
    login(client, "h1")
    for _ in range(4):
        client.post("/api/v1/auth/login", json={"username": "h1", "password": "bad-pass"})
    login(client, "h1")


def test_wrong_role_is_403_with_a_json_body(client, people):
    login(client, "h1")
    r = client.get("/api/v1/users")
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden" and "admin" in r.json()["detail"]


def test_anonymous_gets_401_on_me_and_on_users(client, people):
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.get("/api/v1/users").status_code == 401


def test_bearer_tokens_work_and_can_be_revoked(client, people):
    login(client, "h1")
    token = client.post("/api/v1/auth/tokens", json={"name": "phone"}).json()
    client.post("/api/v1/auth/logout")
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert client.get("/api/v1/auth/me", headers=headers).json()["username"] == "h1"
    assert client.delete(f"/api/v1/auth/tokens/{token['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": "Bearer cg_forged"}).status_code
        == 401
    )


def test_admin_manages_users_and_disabling_ends_sessions(client, people):
    login(client, "boss")
    body = {
        "username": "new1",
        "password": "long-enough-1",
        "name": "新人",
        "org_unit": "239901002",
        "roles": ["handler"],
    }
    assert client.post("/api/v1/users", json=body).status_code == 201
    assert client.post("/api/v1/users", json=body).status_code == 409
    r = client.post("/api/v1/users", json={**body, "username": "new2", "roles": ["king"]})
    assert r.status_code == 400 and "king" in r.json()["detail"]
    r = client.post("/api/v1/users", json={**body, "username": "new3", "org_unit": "nowhere"})
    assert r.status_code == 404
    other = client.__class__(client.app, headers={"Origin": "http://testserver"})
    login(other, "new1", "long-enough-1")
    assert client.patch("/api/v1/users/new1", json={"disabled": True}).status_code == 200
    assert other.get("/api/v1/auth/me").status_code == 401
    r = other.post("/api/v1/auth/login", json={"username": "new1", "password": "long-enough-1"})
    assert r.status_code == 401
