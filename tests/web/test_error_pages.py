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
