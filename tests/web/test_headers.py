"""The security headers (civicgrid.kit.headers) on pages, API answers and static files."""

import re
from html.parser import HTMLParser

import pytest

from civicgrid.citizen import service as citizen_service
from civicgrid.config import Settings
from civicgrid.kit.headers import content_security_policy, tile_source
from tests.factories import POINT_A, login, world
from tests.images import jpeg

FRAMING = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["content-security-policy"]
    return {d.split()[0]: d.split()[1:] for d in policy.split("; ")}


def assert_protected(response) -> None:
    for name, value in FRAMING.items():
        assert response.headers[name] == value, name
    csp = directives(response)
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"] and csp["default-src"] == ["'self'"]


def test_a_page_is_protected_and_never_cached(client, session):
    # Given a signed-in dispatcher
    world(session)
    login(client, "disp")
    for path in ("/", "/report", "/console", "/board", "/stats", "/directory", "/command"):
        # When a page is asked for
        r = client.get(path)
        # Then it carries the policy and the headers, and no cache may keep it
        assert r.status_code == 200, path
        assert_protected(r)
        assert r.headers["cache-control"] == "no-store", path


def test_the_redirect_to_sign_in_is_not_cached_either(client, session):
    r = client.get("/console", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["cache-control"] == "no-store"
    assert_protected(r)


def test_api_answers_are_never_cached(client, session):
    # Given a case with a photo, whose handler set its own caching
    world(session)
    done = citizen_service.submit(
        session,
        Settings(),
        category="06010",
        lon=POINT_A[0],
        lat=POINT_A[1],
        photos=[("a.jpg", jpeg())],
    )
    # When anyone asks the API (anonymous: 401; signed in: the case, its photo; Open311)
    anonymous = client.get("/api/v1/cases")
    login(client, "disp")
    case = client.get(f"/api/v1/cases/{done.case.code}")
    photo = client.get(case.json()["photos"][0]["url"])
    open311 = client.get("/open311/discovery.json")
    # Then every answer is no-store, with the same protection as the pages; the photo, which
    # never changes at its address, only the signed-in browser may keep
    assert anonymous.status_code == 401
    for r in (anonymous, case, open311):
        assert r.headers["cache-control"] == "no-store", r.url
        assert_protected(r)
    assert_protected(photo)
    assert photo.headers["cache-control"] == "private, max-age=86400"
    assert photo.headers["content-type"] == "image/jpeg"
    # and a photo refused (signed out) is not kept anywhere
    client.post("/api/v1/auth/logout")
    denied = client.get(case.json()["photos"][0]["url"])
    assert denied.status_code == 401 and denied.headers["cache-control"] == "no-store"


def test_static_files_keep_their_caching(client):
    r = client.get("/static/js/cg.js")
    assert r.status_code == 200
    assert "no-store" not in r.headers.get("cache-control", "")
    assert r.headers["etag"] and r.headers["last-modified"]  # revalidated, not refetched
    for name, value in FRAMING.items():
        assert r.headers[name] == value
    assert (
        client.get("/static/js/cg.js", headers={"If-None-Match": r.headers["etag"]}).status_code
        == 304
    )


def test_the_tile_host_is_the_only_other_image_source(client, monkeypatch):
    # Given tiles from another host
    monkeypatch.setenv(
        "CIVICGRID_TILE_URL", "https://t{s}.tianditu.gov.cn/vec_w/wmts?x={x}&y={y}&l={z}"
    )
    # When a page is asked for
    csp = directives(client.get("/report"))
    # Then its images may come from there, scripts and connections still only from here
    assert csp["img-src"] == ["'self'", "data:", "blob:", "https://*.tianditu.gov.cn"]
    assert csp["script-src"] == ["'self'"] and csp["connect-src"] == ["'self'"]


@pytest.mark.parametrize(
    ("url", "source"),
    [
        (None, None),
        ("/tiles/{z}/{x}/{y}.png", None),  # this site's own: 'self'
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("http://127.0.0.1:8081/{z}/{x}/{y}.png", "http://127.0.0.1:8081"),
        ("HTTPS://Tiles.Example.org/{z}/{x}/{y}", "https://Tiles.Example.org"),
        # nothing that could smuggle another directive into the policy
        ("https://a.example.org;script-src *;/{z}/{x}/{y}", None),
        ("https://a.example.org 'unsafe-inline'/{z}", None),
        ("javascript:alert(1)//{z}", None),
        ("data://x/{z}", None),
    ],
)
def test_tile_source(url, source):
    assert tile_source(url) == source
    policy = content_security_policy(url)
    assert "'unsafe-inline'" not in policy and policy.count("script-src") == 1


def test_the_api_explorer_still_may_not_be_framed(client):
    r = client.get("/docs")
    assert r.status_code == 200
    assert directives(r)["frame-ancestors"] == ["'none'"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"


class Scripts(HTMLParser):
    """Inline scripts, inline styles and event-handler attributes of a page."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "style":
            self.found.append("<style>")
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.found.append("inline <script>")
        self.found += [f"{tag} {n}=" for n in names if n == "style" or re.match(r"on\w+$", n)]


def test_no_page_has_inline_script_or_style(client, session):
    # Given every kind of page, as the admin who sees them all
    world(session)
    done = citizen_service.submit(
        session, Settings(), category="06010", lon=POINT_A[0], lat=POINT_A[1]
    )
    paths = ["/", "/report", f"/track/{done.case.code}?s={done.secret}", "/console/login"]
    login(client, "boss")
    paths += [
        "/console",
        f"/console/cases/{done.case.code}",
        "/board",
        "/command",
        "/directory",
        "/stats",
        "/stats/assessment/2026-03",
        "/admin",
    ]
    for path in paths:
        # When the page is rendered
        r = client.get(path)
        assert r.status_code == 200, path
        parser = Scripts()
        parser.feed(r.text)
        # Then it has no script, style or handler the policy would refuse
        assert parser.found == [], (path, parser.found)
