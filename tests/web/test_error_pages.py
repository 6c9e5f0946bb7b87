"""A person at a browser gets the site's own page for every refusal (kit.errors with
web.layout.error_page); programs under /api/ and /open311/ keep their JSON."""

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from tests.factories import login, world

# What only the layout (base.html) and the error page write.
LAYOUT = '<a class="brand" href="/">'
ERROR_MARK = 'class="card error-page"'


def assert_error_page(r, status: int, *sentences: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert LAYOUT in r.text and ERROR_MARK in r.text and f'data-error="{status}"' in r.text
    assert 'href="/">' in r.text and 'href="/console"' in r.text  # a way back
    for sentence in sentences:
        assert sentence in r.text


def test_a_missing_page_is_the_sites_404_in_either_language(client, session):
    r = client.get("/no-such-page")
    assert_error_page(r, 404, "未找到该页面")
    client.cookies.set("lang", "en")
    r = client.get("/no-such-page")
    assert_error_page(r, 404, "Page not found.")
    assert "未找到该页面" not in r.text


def test_an_unknown_case_is_a_404_page_not_json(client, session):
    world(session)
    login(client, "disp")
    r = client.get("/console/cases/XF20990101-999999")
    assert_error_page(r, 404, "找不到案件 XF20990101-999999")


def test_a_bad_month_is_a_400_page(client, session):
    world(session)
    login(client, "disp")
    r = client.get("/stats/assessment/2026-13")
    assert_error_page(r, 400, "月份格式应为 年-月")
    client.cookies.set("lang", "en")
    assert_error_page(client.get("/stats/assessment/2026-13"), 400, "Month must be YYYY-MM")


def test_the_admin_page_is_a_403_page_for_others(client, session):
    world(session)
    login(client, "disp")
    assert_error_page(client.get("/admin"), 403, "此页面仅限管理员使用")


def test_a_bug_is_a_500_page_and_stays_plain_under_the_api(app, session):
    boom = APIRouter()

    @boom.get("/boom")
    @boom.get("/api/v1/boom")
    def _boom():
        raise RuntimeError("a bug")

    app.include_router(boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        assert_error_page(c.get("/boom"), 500, "服务器内部错误")
        r = c.get("/api/v1/boom")
        assert r.status_code == 500 and r.text == "Internal Server Error"


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_api_and_open311_refusals_stay_machine_readable(client, session, accept):
    r = client.get("/api/v1/nothing-here", headers={"Accept": accept})
    assert r.status_code == 404 and r.json()["error"] == "http_error"
    r = client.get("/api/v1/cases/XF20990101-999999", headers={"Accept": accept})
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    r = client.get("/open311/v2/requests/XF20990101-999999.json", headers={"Accept": accept})
    assert r.status_code == 404 and "<html" not in r.text


def test_track_alone_explains_how_to_find_a_case(client, session):
    r = client.get("/track")
    assert r.status_code == 200 and LAYOUT in r.text
    assert 'action="/track"' in r.text and 'name="code"' in r.text and 'name="s"' in r.text
    assert "查询码" in r.text
    r = client.get("/track?code=xf20260101-000001&s=abc", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/track/XF20260101-000001?s=abc"


def test_the_favicon(client, session):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon"
    assert r.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and b"<svg" in svg.content
    page = client.get("/").text
    assert 'rel="icon" href="/static/favicon.svg"' in page


# What the header shows only to a signed-in user, and only to nobody.
SIGNED_IN = 'action="/console/logout"'
SIGNED_OUT = 'href="/console/login"'


def _header(html: str) -> str:
    return html.split("<main>", 1)[0]


@pytest.mark.parametrize(
    ("username", "path", "status"),
    [
        ("disp", "/no-such-page", 404),
        ("disp", "/console/cases/XF20990101-999999", 404),
        ("disp", "/admin", 403),
        ("disp", "/stats/assessment/2026-13", 400),
        ("boss", "/no-such-page", 404),
    ],
)
def test_an_error_page_shows_the_signed_in_users_header(client, session, username, path, status):
    # Given a signed-in user
    world(session)
    login(client, username)
    # When a page of theirs fails
    r = client.get(path)
    # Then it is the site's error page with their own header: their name, their menu, sign-out
    assert_error_page(r, status)
    header = _header(r.text)
    assert SIGNED_IN in header and SIGNED_OUT not in header
    assert f'<span class="who" translate="no">{username}</span>' in header
    assert 'href="/console"' in header and 'href="/directory"' in header
    # and the admin link only for whom the menu holds it
    assert ('href="/admin"' in header) == (username == "boss")


def test_a_500_page_shows_the_signed_in_users_header(app, session):
    boom = APIRouter()

    @boom.get("/boom")
    def _boom():
        raise RuntimeError("a bug")

    app.include_router(boom)
    world(session)
    with TestClient(
        app, raise_server_exceptions=False, headers={"Origin": "http://testserver"}
    ) as c:
        login(c, "disp")
        r = c.get("/boom")
    assert_error_page(r, 500, "服务器内部错误")
    assert SIGNED_IN in _header(r.text) and '<span class="who" translate="no">disp</span>' in r.text


def test_an_error_page_for_nobody_or_a_dead_session_is_signed_out(client, session):
    world(session)
    for cookies in ({}, {"civicgrid_session": "forged.value.here"}):
        client.cookies.clear()
        for k, v in cookies.items():
            client.cookies.set(k, v)
        r = client.get("/no-such-page")
        assert_error_page(r, 404)
        assert SIGNED_OUT in _header(r.text) and SIGNED_IN not in r.text
    # a session ended on the server (signed out) no longer shows its header, cookie or not
    client.cookies.clear()
    login(client, "disp")
    assert SIGNED_IN in client.get("/no-such-page").text
    cookie = client.cookies.get("civicgrid_session")
    client.post("/api/v1/auth/logout")
    client.cookies.clear()
    client.cookies.set("civicgrid_session", cookie)
    assert SIGNED_IN not in client.get("/no-such-page").text


def test_an_error_page_survives_a_failing_session_lookup(client, session, monkeypatch):
    # Given a signed-in user whose session cannot be read (the database fails under it)
    from sqlalchemy.exc import OperationalError

    from civicgrid.auth import service as auth_service

    world(session)
    login(client, "disp")

    def broken(*_args, **_kwargs):
        raise OperationalError("SELECT", {}, Exception("database is gone"))

    monkeypatch.setattr(auth_service, "session_from_cookie", broken)
    # When a missing page is asked for, Then it is still the site's 404, drawn signed out
    r = client.get("/no-such-page")
    assert_error_page(r, 404, "未找到该页面")
    assert SIGNED_OUT in _header(r.text)
