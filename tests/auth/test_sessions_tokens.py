"""Server-side sessions and bearer tokens (issue 12 #4)."""

import datetime as dt
import hashlib

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event, select
from typer.testing import CliRunner

from civicgrid.auth.models import ApiToken, UserSession
from civicgrid.cli import app as cli
from civicgrid.config import get_settings, secret_key
from civicgrid.kit.db import utcnow
from tests.factories import PASSWORD, SITE, login, small_geography, user

NEW_PASSWORD = "violet-kettle-42"


@pytest.fixture()
def people(session):
    small_geography(session)
    user(session, "boss", ["admin"], "239901")
    user(session, "h1", ["handler"], "239901001")
    user(session, "h2", ["handler"], "239901001")


def signed_in(app, username: str) -> TestClient:
    c = TestClient(app, headers=SITE)
    login(c, username)
    return c


def cookie_of(c: TestClient) -> str:
    return c.cookies["civicgrid_session"]


def with_cookie(app, value: str) -> TestClient:
    c = TestClient(app, headers=SITE)
    c.cookies.set("civicgrid_session", value)
    return c


def new_token(c: TestClient, name: str = "phone") -> dict:
    r = c.post("/api/v1/auth/tokens", json={"name": name})
    assert r.status_code == 201, r.text
    return r.json()


def bearer(token: dict) -> dict:
    return {"Authorization": f"Bearer {token['token']}"}


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/auth/me"),
        ("get", "/api/v1/auth/tokens"),
        ("post", "/api/v1/auth/tokens"),
        ("delete", "/api/v1/auth/tokens/1"),
        ("post", "/api/v1/auth/password"),
        ("get", "/api/v1/users/h1/tokens"),
    ],
)
def test_anonymous_gets_401(client, people, method, url):
    body = {"json": {"current_password": PASSWORD, "new_password": NEW_PASSWORD}}
    r = getattr(client, method)(url, **(body if method == "post" else {}))
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


def test_the_cookie_names_a_session_row_that_keeps_only_a_hash_of_its_secret(app, people, session):
    # Given h1 signed in
    c = signed_in(app, "h1")
    # Then the cookie carries a session id and a secret, signed with the secret key
    data = URLSafeTimedSerializer(secret_key(get_settings()).key, salt="civicgrid-session").loads(
        cookie_of(c)
    )
    row = session.get(UserSession, data["s"])
    assert row.user.username == "h1" and row.ended_at is None
    # And the row keeps the secret's sha256, never the secret
    assert row.secret_hash == hashlib.sha256(data["k"].encode()).hexdigest()
    assert len(data["k"]) >= 32 and data["k"] not in row.secret_hash
    # And it ends session_max_age_seconds after sign-in
    lifetime = (row.expires_at - row.created_at).total_seconds()
    assert abs(lifetime - get_settings().session_max_age_seconds) < 5


def test_a_cookie_with_the_right_signature_but_a_guessed_secret_is_refused(app, people, session):
    c = signed_in(app, "h1")
    signer = URLSafeTimedSerializer(secret_key(get_settings()).key, salt="civicgrid-session")
    sid = signer.loads(cookie_of(c))["s"]
    for payload in ({"s": sid, "k": "guess"}, {"s": sid}, {"u": 1, "v": 1}, {"s": 2**40, "k": ""}):
        assert with_cookie(app, signer.dumps(payload)).get("/api/v1/auth/me").status_code == 401


def test_logout_ends_the_session_so_the_old_cookie_stops_working_at_once(app, people):
    # Given h1 signed in, the cookie kept aside
    c = signed_in(app, "h1")
    old = cookie_of(c)
    # When h1 signs out through the API
    assert c.post("/api/v1/auth/logout").status_code == 204
    # Then the old cookie, sent again, is refused
    assert with_cookie(app, old).get("/api/v1/auth/me").status_code == 401


def test_the_console_logout_ends_the_session_too(app, people):
    c = signed_in(app, "h1")
    old = cookie_of(c)
    r = c.post("/console/logout", follow_redirects=False)
    assert r.status_code == 303
    assert with_cookie(app, old).get("/api/v1/auth/me").status_code == 401
    # And the other sessions of the same user go on
    other = signed_in(app, "h1")
    assert other.get("/api/v1/auth/me").status_code == 200


def test_an_expired_session_is_refused(app, people, session):
    c = signed_in(app, "h1")
    for row in session.scalars(select(UserSession)):
        row.expires_at = utcnow() - dt.timedelta(seconds=1)
    session.commit()
    assert c.get("/api/v1/auth/me").status_code == 401


def test_a_cookie_costs_one_query(app, people, engine):
    # Given h1 signed in
    c = signed_in(app, "h1")
    token = new_token(c)
    statements = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        # When /auth/me is asked with the cookie, then with the token
        assert c.get("/api/v1/auth/me").status_code == 200
        by_cookie = len(statements)
        headers = bearer(token)
        assert (
            TestClient(app, headers=SITE).get("/api/v1/auth/me", headers=headers).status_code == 200
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # Then each costs one SELECT (the session or token row joined with its user)
    assert by_cookie == 1, statements
    assert len(statements) == 2, statements


def test_an_admin_password_change_ends_every_session_and_token_of_the_user(app, people):
    # Given h1 signed in twice, with a token
    first, second = signed_in(app, "h1"), signed_in(app, "h1")
    token = new_token(first)
    # When an admin sets a new password
    admin = signed_in(app, "boss")
    r = admin.patch("/api/v1/users/h1", json={"password": NEW_PASSWORD})
    assert r.status_code == 200
    # Then both sessions and the token are refused
    assert first.get("/api/v1/auth/me").status_code == 401
    assert second.get("/api/v1/auth/me").status_code == 401
    assert (
        TestClient(app, headers=SITE).get("/api/v1/auth/me", headers=bearer(token)).status_code
        == 401
    )
    # And the admin's own session and h2's go on; h1 signs in with the new password
    assert admin.get("/api/v1/auth/me").status_code == 200
    login(TestClient(app, headers=SITE), "h1", NEW_PASSWORD)


def test_disabling_ends_every_session_and_token_and_enabling_does_not_revive_them(app, people):
    c = signed_in(app, "h1")
    token = new_token(c)
    admin = signed_in(app, "boss")
    assert admin.patch("/api/v1/users/h1", json={"disabled": True}).status_code == 200
    assert admin.patch("/api/v1/users/h1", json={"disabled": False}).status_code == 200
    assert c.get("/api/v1/auth/me").status_code == 401
    assert (
        TestClient(app, headers=SITE).get("/api/v1/auth/me", headers=bearer(token)).status_code
        == 401
    )
    login(TestClient(app, headers=SITE), "h1")


def test_the_cli_passwd_and_disable_end_sessions_and_tokens(app, people, session):
    c = signed_in(app, "h1")
    token = new_token(c)
    result = CliRunner().invoke(cli, ["user", "passwd", "h1", "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert c.get("/api/v1/auth/me").status_code == 401
    assert (
        TestClient(app, headers=SITE).get("/api/v1/auth/me", headers=bearer(token)).status_code
        == 401
    )
    # And the same for a disable
    c2 = signed_in(app, "h2")
    assert CliRunner().invoke(cli, ["user", "disable", "h2"]).exit_code == 0
    assert c2.get("/api/v1/auth/me").status_code == 401


class TestOwnPasswordChange:
    def change(self, c: TestClient, current: str, new: str, **kw):
        body = {"current_password": current, "new_password": new}
        return c.post("/api/v1/auth/password", json=body, **kw)

    def test_the_right_current_password_changes_it_ends_other_sessions_keeps_the_caller(
        self, app, people
    ):
        # Given h1 signed in on two devices, with a token
        me, other = signed_in(app, "h1"), signed_in(app, "h1")
        old_cookie = cookie_of(me)
        token = new_token(me)
        # When h1 changes the password on the first
        r = self.change(me, PASSWORD, NEW_PASSWORD)
        # Then it is changed; the other device, the token and the old cookie are refused
        assert r.status_code == 204, r.text
        assert other.get("/api/v1/auth/me").status_code == 401
        assert (
            TestClient(app, headers=SITE).get("/api/v1/auth/me", headers=bearer(token)).status_code
            == 401
        )
        assert with_cookie(app, old_cookie).get("/api/v1/auth/me").status_code == 401
        # And the caller goes on with the new session cookie it was given
        assert cookie_of(me) != old_cookie
        assert me.get("/api/v1/auth/me").json()["username"] == "h1"
        # And only the new password signs in
        fresh = TestClient(app, headers=SITE)
        r = fresh.post("/api/v1/auth/login", json={"username": "h1", "password": PASSWORD})
        assert r.status_code == 401
        login(fresh, "h1", NEW_PASSWORD)

    def test_a_wrong_current_password_is_403_and_changes_nothing(self, app, people):
        me, other = signed_in(app, "h1"), signed_in(app, "h1")
        r = self.change(me, "not-my-password", NEW_PASSWORD)
        assert r.status_code == 403 and "current password" in r.json()["detail"]
        assert other.get("/api/v1/auth/me").status_code == 200
        login(TestClient(app, headers=SITE), "h1")

    def test_a_weak_new_password_is_400_with_the_rule(self, app, people):
        me = signed_in(app, "h1")
        r = self.change(me, PASSWORD, "short")
        assert r.status_code == 400 and "10" in r.json()["detail"]
        r = self.change(me, PASSWORD, "H1-2024-06-01")
        assert r.status_code == 400 and "username" in r.json()["detail"]
        assert me.get("/api/v1/auth/me").status_code == 200

    def test_by_token_it_works_and_revokes_that_token_too(self, app, people):
        token = new_token(signed_in(app, "h1"))
        r = self.change(
            TestClient(app, headers=SITE), PASSWORD, NEW_PASSWORD, headers=bearer(token)
        )
        assert r.status_code == 204 and "set-cookie" not in r.headers
        assert (
            TestClient(app, headers=SITE).get("/api/v1/auth/me", headers=bearer(token)).status_code
            == 401
        )


def test_tokens_expire_after_token_max_age_days(app, people, session, monkeypatch):
    # Given tokens live 7 days
    monkeypatch.setenv("CIVICGRID_TOKEN_MAX_AGE_DAYS", "7")
    get_settings.cache_clear()
    c = signed_in(app, "h1")
    token = new_token(c)
    row = session.get(ApiToken, token["id"])
    assert abs((row.expires_at - utcnow()) - dt.timedelta(days=7)) < dt.timedelta(minutes=1)
    assert dt.datetime.fromisoformat(token["expires_at"]) == row.expires_at
    assert (
        TestClient(app, headers=SITE).get("/api/v1/auth/me", headers=bearer(token)).status_code
        == 200
    )
    # When its time is up
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    session.commit()
    # Then it is refused
    assert (
        TestClient(app, headers=SITE).get("/api/v1/auth/me", headers=bearer(token)).status_code
        == 401
    )


def test_owners_list_their_tokens_without_the_secret(app, people):
    # Given h1 with two tokens, one revoked, and h2 with one
    c = signed_in(app, "h1")
    phone, laptop = new_token(c, "phone"), new_token(c, "laptop")
    new_token(signed_in(app, "h2"), "h2's")
    assert c.delete(f"/api/v1/auth/tokens/{phone['id']}").status_code == 204
    # When h1 lists its tokens
    r = c.get("/api/v1/auth/tokens")
    # Then it sees its own two, newest first, with their dates and never their text
    assert r.status_code == 200
    listed = r.json()
    assert [t["id"] for t in listed] == [laptop["id"], phone["id"]]
    assert set(listed[0]) == {"id", "name", "username", "created_at", "expires_at", "revoked_at"}
    assert listed[0]["revoked_at"] is None and listed[1]["revoked_at"] is not None
    assert phone["token"] not in r.text and laptop["token"] not in r.text


def test_admins_list_and_revoke_anyones_tokens_others_cannot(app, people):
    c = signed_in(app, "h1")
    token = new_token(c)
    # A handler may neither list another's tokens nor revoke them (it is not found)
    h2 = signed_in(app, "h2")
    assert h2.get("/api/v1/users/h1/tokens").status_code == 403
    assert h2.delete(f"/api/v1/auth/tokens/{token['id']}").status_code == 404
    assert (
        TestClient(app, headers=SITE).get("/api/v1/auth/me", headers=bearer(token)).status_code
        == 200
    )
    # An admin lists them and revokes one
    admin = signed_in(app, "boss")
    listed = admin.get("/api/v1/users/h1/tokens").json()
    assert [t["id"] for t in listed] == [token["id"]] and token["token"] not in str(listed)
    assert admin.get("/api/v1/users/nobody/tokens").status_code == 404
    assert admin.delete(f"/api/v1/auth/tokens/{token['id']}").status_code == 204
    assert (
        TestClient(app, headers=SITE).get("/api/v1/auth/me", headers=bearer(token)).status_code
        == 401
    )
    assert admin.delete("/api/v1/auth/tokens/999999").status_code == 404


def test_a_token_cannot_create_tokens(app, people):
    token = new_token(signed_in(app, "h1"))
    r = TestClient(app, headers=SITE).post(
        "/api/v1/auth/tokens", json={"name": "more"}, headers=bearer(token)
    )
    assert r.status_code == 403
    assert "token" in r.json()["detail"] and "令牌" in r.json()["detail"]


def test_signing_out_with_a_token_revokes_it(app, people):
    token = new_token(signed_in(app, "h1"))
    client = TestClient(app, headers=SITE)
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
