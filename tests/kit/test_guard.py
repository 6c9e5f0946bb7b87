"""The input guard (kit.guard): refused characters, body caps, cross-site requests, the
operators' pages — on every route, whatever the route itself checks."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from civicgrid.kit.guard import csrf_token
from civicgrid.open311 import service as open311_service
from tests.factories import POINT_A, login, world
from tests.images import jpeg, noisy_jpeg

BAD_TEXT = ["\x00", "\x0b", "\x1f", "\x7f", "\x85", "\ufffd", "\ud800"]


def _escape(char: str) -> str:
    """A JSON string literal of the character, escaped (\\u0000): how a client sends it."""
    return f"\\u{ord(char):04x}"


def test_every_refused_character_in_a_json_string_is_a_400_naming_the_field(client, session):
    # Given a signed-in supervisor
    world(session)
    login(client, "sup")
    for char in BAD_TEXT:
        # When a case is reported with the character in its description (escaped, as JSON does)
        lon, lat = POINT_A
        description = f"a{_escape(char)}b"
        body = (
            f'{{"category": "06010", "lon": {lon}, "lat": {lat}, "description": "{description}"}}'
        )
        r = client.post("/api/v1/cases", content=body, headers={"content-type": "application/json"})
        # Then it is refused, naming the field, and nothing is written
        assert r.status_code == 400, (char, r.text)
        assert r.json()["field"] == "description"
    assert client.get("/api/v1/cases").json()["items"] == []


def test_nested_json_fields_are_named_by_their_path(client, session):
    world(session)
    login(client, "boss")
    r = client.post(
        "/api/v1/users",
        content=json.dumps({"username": "x1", "phones": ["139", "13\x009"]}),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["field"] == "phones[1]"


def test_undecodable_bytes_in_a_json_body_are_a_400(client, session):
    world(session)
    login(client, "sup")
    body = b'{"category": "06010", "description": "a\xff\xfeb"}'
    r = client.post("/api/v1/cases", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "U+FFFD" in r.json()["detail"]


@pytest.mark.parametrize("raw", ["%00", "%0B", "%FF", "%C3%28", "%ED%A0%80"])
def test_refused_characters_in_the_query_string_are_a_400(client, raw):
    r = client.get(f"/api/v1/categories?q=a{raw}b")
    assert r.status_code == 400 and r.json()["field"] == "q"


@pytest.mark.parametrize("raw", ["%00", "%FF", "%0A"])
def test_refused_characters_in_the_path_are_a_400(client, raw):
    assert client.get(f"/api/v1/categories/01{raw}01").status_code == 400


@pytest.mark.parametrize("raw", ["%00", "%0B", "%FF"])
def test_refused_characters_in_an_urlencoded_form_are_a_400(client, raw):
    r = client.post(
        "/console/login",
        content=f"username=ad{raw}min&password=x".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400 and r.json()["field"] == "username"


@pytest.mark.parametrize("char", BAD_TEXT[:-1])
def test_refused_characters_in_a_multipart_text_field_are_a_400(client, session, char):
    # Given the citizen's report form with a photo
    world(session)
    files = [("photos", ("p.jpg", jpeg(), "image/jpeg"))]
    data = {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1], "address": f"a{char}b"}
    # When the address holds the character, Then it is refused naming the field
    r = client.post("/api/v1/citizen/reports", data=data, files=files)
    assert r.status_code == 400 and r.json()["field"] == "address"
    # and the same form without it is taken (the photo's own bytes are not text)
    data["address"] = "香坊大街 12 号\n东侧"
    assert client.post("/api/v1/citizen/reports", data=data, files=files).status_code == 201


def test_undecodable_bytes_in_a_multipart_text_field_are_a_400(client, session):
    world(session)
    boundary = "XyZ"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="category"\r\n\r\n06010\r\n'
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="description"\r\n\r\n'
        ).encode()
        + b"\xff\xfe garbage\r\n"
        + f"--{boundary}--\r\n".encode()
    )
    r = client.post(
        "/api/v1/citizen/reports",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 400 and r.json()["field"] == "description"


def test_open311_refusals_are_the_specs_error_document(client, session):
    world(session)
    _key, plain = open311_service.add_key(session, "partner")
    form = {"api_key": plain, "service_code": "06010", "lat": POINT_A[1], "long": POINT_A[0]}
    r = client.post("/open311/v2/requests.json", data={**form, "description": "a\x0bb"})
    assert r.status_code == 400
    assert r.json()[0]["code"] == 400 and "description" in r.json()[0]["description"]
    r = client.post("/open311/v2/requests.xml", data={**form, "description": "a\x00b"})
    assert r.status_code == 400 and r.text.startswith("<?xml") and "<errors>" in r.text


def test_a_body_over_its_cap_is_refused_before_it_is_read(client):
    # a declared length over the 64 KB of a JSON route
    r = client.post(
        "/api/v1/auth/login",
        content=b"x" * (64 * 1024 + 1),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"

    # a body sent in chunks, without a declared length, is cut off when it passes the cap
    def chunks():
        for _ in range(100):
            yield b"y" * 1024

    r = client.post(
        "/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


def test_photo_routes_take_photos_up_to_their_own_cap(client, session, monkeypatch):
    world(session)
    monkeypatch.setenv("CIVICGRID_PHOTO_MAX_BYTES", str(200 * 1024))
    big = noisy_jpeg(400, 300)
    assert 64 * 1024 < len(big) < 200 * 1024
    data = {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]}
    r = client.post(
        "/api/v1/citizen/reports", data=data, files=[("photos", ("p.jpg", big, "image/jpeg"))]
    )
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/v1/citizen/reports",
        data=data,
        files=[("photos", (f"p{i}.jpg", noisy_jpeg(520, 400, i), "image/jpeg")) for i in range(7)],
    )
    assert r.status_code == 413  # seven photos of ~190 KB pass 6 x 200 KB + 64 KB


class TestCrossSite:
    """An unsafe request with the session cookie must come from the site's own pages."""

    def _signed_in(self, client, session) -> TestClient:
        world(session)
        login(client, "disp")
        client.headers.pop("origin")
        return client

    def test_a_cookie_request_without_origin_or_referer_is_refused(self, client, session):
        c = self._signed_in(client, session)
        r = c.post("/api/v1/auth/tokens", json={"name": "x"})
        assert r.status_code == 403 and r.json()["error"] == "forbidden"

    @pytest.mark.parametrize(
        "header",
        [
            {"Origin": "http://evil.example"},
            {"Origin": "null"},
            {"Origin": "http://testserver.evil.example"},
            {"Referer": "http://evil.example/testserver/page"},
        ],
    )
    def test_another_sites_origin_is_refused(self, client, session, header):
        c = self._signed_in(client, session)
        assert c.post("/api/v1/auth/tokens", json={"name": "x"}, headers=header).status_code == 403

    def test_the_sites_own_pages_are_let_through(self, client, session):
        c = self._signed_in(client, session)
        for header in ({"Origin": "http://testserver"}, {"Referer": "http://testserver/console"}):
            assert (
                c.post("/api/v1/auth/tokens", json={"name": "x"}, headers=header).status_code == 201
            )

    def test_the_csrf_token_of_the_session_lets_a_request_through(self, client, session):
        c = self._signed_in(client, session)
        token = csrf_token(c.cookies.get("civicgrid_session"))
        r = c.post("/api/v1/auth/tokens", json={"name": "x"}, headers={"X-CSRF-Token": token})
        assert r.status_code == 201
        r = c.post("/api/v1/auth/tokens", json={"name": "x"}, headers={"X-CSRF-Token": "f" * 64})
        assert r.status_code == 403

    def test_a_multipart_action_posted_cross_site_changes_nothing(self, client, session):
        # Given a dispatched case and its handler signed in
        world(session)
        data = {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]}
        code = client.post("/api/v1/citizen/reports", data=data).json()["code"]
        login(client, "ha")
        assert client.post(f"/api/v1/cases/{code}/take", json={}).status_code == 200
        # When another site posts report-done as a form with the handler's cookie
        r = client.post(
            f"/api/v1/cases/{code}/report-done",
            data={"note": "done"},
            headers={"Origin": "http://evil.example"},
        )
        # Then it is refused and the case has not moved
        assert r.status_code == 403
        assert client.get(f"/api/v1/cases/{code}").json()["state"] == "in_progress"

    def test_bearer_token_requests_are_not_affected(self, client, session):
        c = self._signed_in(client, session)
        plain = c.post(
            "/api/v1/auth/tokens", json={"name": "app"}, headers={"Origin": "http://testserver"}
        ).json()["token"]
        c.cookies.clear()
        r = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {plain}"})
        assert r.status_code == 200

    def test_requests_without_a_session_cookie_are_not_affected(self, client, session):
        client.headers.pop("origin")
        world(session)
        data = {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]}
        r = client.post(
            "/api/v1/citizen/reports", data=data, headers={"Origin": "http://elsewhere.example"}
        )
        assert r.status_code == 201


class TestOperatorsPages:
    @pytest.fixture()
    def production(self, monkeypatch, session):
        monkeypatch.setenv("CIVICGRID_MODE", "production")
        monkeypatch.setenv("CIVICGRID_SECRET_KEY", "k" * 48)
        monkeypatch.setenv("CIVICGRID_OPS_TOKEN", "ops-token-of-this-test")
        monkeypatch.setenv("CIVICGRID_ALLOWED_HOSTS", "testserver")
        from civicgrid.app import create_app

        return create_app()

    @pytest.mark.parametrize("path", ["/metrics", "/docs", "/redoc", "/openapi.json"])
    def test_in_production_only_allowed_addresses_or_the_token_see_them(self, production, path):
        with TestClient(production, client=("203.0.113.9", 4000)) as outside:
            assert outside.get(path).status_code == 404
            wrong = outside.get(path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 404
            right = outside.get(path, headers={"Authorization": "Bearer ops-token-of-this-test"})
            assert right.status_code == 200
        with TestClient(production, client=("127.0.0.1", 4000)) as local:
            assert local.get(path).status_code == 200

    def test_in_development_they_are_open(self, client):
        assert client.get("/metrics").status_code == 200
        assert client.get("/openapi.json").status_code == 200


class TestClientAddress:
    """X-Forwarded-For is believed only from the configured proxies."""

    def _limited(self, app, monkeypatch, client_addr, forwarded: list[str]) -> list[int]:
        monkeypatch.setenv("CIVICGRID_REPORTS_PER_HOUR_PER_ADDRESS", "1")
        data = {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]}
        with TestClient(app, client=client_addr) as c:
            return [
                c.post(
                    "/api/v1/citizen/reports", data=data, headers={"X-Forwarded-For": f}
                ).status_code
                for f in forwarded
            ]

    def test_by_default_the_header_is_ignored(self, app, session, monkeypatch):
        world(session)
        codes = self._limited(app, monkeypatch, ("127.0.0.1", 1), ["198.51.100.1", "198.51.100.2"])
        assert codes == [201, 429]  # one address, whatever the header says

    def test_behind_a_configured_proxy_the_header_names_the_client(self, session, monkeypatch):
        world(session)
        monkeypatch.setenv("CIVICGRID_TRUSTED_PROXIES", "127.0.0.1")
        from civicgrid.app import create_app

        codes = self._limited(
            create_app(), monkeypatch, ("127.0.0.1", 1), ["198.51.100.1", "198.51.100.2"]
        )
        assert codes == [201, 201]
        # and a client that is not the proxy cannot choose its own address
        codes = self._limited(
            create_app(), monkeypatch, ("192.0.2.7", 1), ["198.51.100.3", "198.51.100.4"]
        )
        assert codes == [201, 429]


def test_settings_refuse_a_proxy_that_is_not_an_address():
    from pydantic import ValidationError

    from civicgrid.config import Settings

    with pytest.raises(ValidationError, match="TRUSTED_PROXIES"):
        Settings(trusted_proxies="proxy.example")
