"""Photos by URL: a partner's media_url kept as given, and fetched into the photo store only
from allow-listed hosts, public addresses (unless allowed), within a size cap and a timeout,
checked by Pillow, after the answer is sent. Against a real HTTP server on this machine."""

import http.server
import time
from contextlib import contextmanager

import pytest
from pydantic import ValidationError

from civicgrid.cases import service as case_service
from civicgrid.config import Settings
from civicgrid.kit import fetch
from civicgrid.media import service as media_service
from civicgrid.open311 import photos
from tests.images import jpeg
from tests.open311.test_open311 import post
from tests.open311.test_updates import finish, update
from tests.servers import serving

V2 = "/open311/v2"


@contextmanager
def image_server():
    """A real HTTP server on 127.0.0.1 (a free port) serving a photo, a file too big, a text,
    a redirect elsewhere and a slow answer; `seen` lists the paths asked for."""
    seen: list[str] = []
    photo = jpeg(color=(200, 30, 30))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            seen.append(self.path)
            if self.path.startswith("/photo"):
                self._send(200, photo, "image/jpeg")
            elif self.path == "/big.jpg":
                self._send(200, b"\xff" * 300_000, "image/jpeg")
            elif self.path == "/text.jpg":
                self._send(200, b"<html>not a photo</html>", "image/jpeg")
            elif self.path == "/away":
                self.send_response(302)
                self.send_header("Location", "http://elsewhere.example.org/p.jpg")
                self.end_headers()
            elif self.path == "/slow.jpg":
                self.send_response(200)
                self.send_header("Content-Length", str(len(photo)))
                self.end_headers()
                try:
                    for byte in photo[:5]:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.6)
                except OSError:  # the fetcher gave up (as it should)
                    pass
            else:
                self._send(404, b"", "text/plain")

        def _send(self, status, body, kind):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with serving(Handler) as base:
        yield base, seen


def test_without_an_allow_list_the_url_is_kept_and_nothing_fetched(client, session, api_key):
    with image_server() as (base, seen):
        r = post(client, api_key, media_url=f"{base}/photo.jpg")
        assert r.status_code == 201, r.text
        code = r.json()[0]["service_request_id"]
        shown = client.get(f"{V2}/requests/{code}.json").json()[0]
        assert shown["media_url"] == f"{base}/photo.jpg"  # as given
    assert seen == []
    case = case_service.get_case(session, code)
    assert photos.fetches_of(session, case.id) == []


def test_an_allowed_host_is_fetched_after_the_answer(client, session, api_key, env):
    with image_server() as (base, seen):
        env(open311_media_fetch_hosts="127.0.0.1", open311_media_fetch_private="true")
        urls = [f"{base}/photo1.jpg", f"{base}/photo2.jpg"]
        r = client.post(
            f"{V2}/requests.json",
            data={
                "api_key": api_key,
                "service_code": "06010",
                "lat": "45.7029325",
                "long": "126.6988839",
                "media_url": urls,  # repeated: every one kept
            },
        )
        assert r.status_code == 201, r.text
        code = r.json()[0]["service_request_id"]
    assert sorted(seen) == ["/photo1.jpg", "/photo2.jpg"]
    case = case_service.get_case(session, code)
    fetched = photos.fetches_of(session, case.id)
    assert [(f.state, f.url) for f in fetched] == [("done", urls[0]), ("done", urls[1])]
    stored = media_service.photos_of(session, case.id)
    assert [p.stage for p in stored] == ["report", "report"]
    assert {p.id for p in stored} == {f.photo_id for f in fetched}
    events = case_service.events_of(session, case)
    assert events[0].payload["media_urls"] == urls and events[0].payload["media_url"] == urls[0]
    # GeoReport's media_url is the first as given; our copy is served too
    shown = client.get(f"{V2}/requests/{code}.json").json()[0]
    assert shown["media_url"] == urls[0]
    copy = client.get(f"{V2}/media/{code}/{stored[0].id}.jpg")
    assert copy.status_code == 200 and copy.headers["content-type"] == "image/jpeg"


def test_a_loopback_address_is_refused_unless_allowed(client, session, api_key, env):
    with image_server() as (base, seen):
        env(open311_media_fetch_hosts="127.0.0.1,localhost")
        code = post(client, api_key, media_url=f"{base}/photo.jpg").json()[0]["service_request_id"]
        for _ in range(photos.FETCH_ATTEMPTS):
            photos.run()  # the job's retries
    assert seen == []  # never connected
    case = case_service.get_case(session, code)
    (row,) = photos.fetches_of(session, case.id)
    assert row.state == "failed" and row.attempts == photos.FETCH_ATTEMPTS
    assert "non-public address (127.0.0.1)" in row.error
    assert media_service.photos_of(session, case.id) == []


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/big.jpg", "larger than 200000 bytes"),
        ("/text.jpg", "not a whole, valid image"),
        ("/away", "elsewhere.example.org is not on the list"),
        ("/slow.jpg", "within 1 s"),
        ("/missing.jpg", "answered 404"),
    ],
)
def test_what_is_not_a_photo_in_time_is_not_taken(client, session, api_key, env, path, why):
    with image_server() as (base, _seen):
        env(
            open311_media_fetch_hosts="127.0.0.1",
            open311_media_fetch_private="true",
            open311_media_fetch_timeout_seconds="1",
            photo_max_bytes="200000",
        )
        code = post(client, api_key, media_url=f"{base}{path}").json()[0]["service_request_id"]
    case = case_service.get_case(session, code)
    (row,) = photos.fetches_of(session, case.id)
    assert row.state == "pending" and row.attempts == 1 and why in row.error, row.error
    assert media_service.photos_of(session, case.id) == []


def test_a_citizen_updates_photo_by_url_joins_its_event(client, session, api_key, env):
    code = post(client, api_key).json()[0]["service_request_id"]
    finish(session, code)
    with image_server() as (base, seen):
        env(open311_media_fetch_hosts="127.0.0.1", open311_media_fetch_private="true")
        r = update(
            client, api_key, service_request_id=code, status="REOPEN", media_url=f"{base}/photo.jpg"
        )
        assert r.status_code == 200, r.text
    assert seen == ["/photo.jpg"]
    case = case_service.get_case(session, code)
    event = case_service.events_of(session, case)[-1]
    assert event.action == "comment" and event.payload["media_url"] == f"{base}/photo.jpg"
    assert [(p.stage, p.event_id) for p in media_service.photos_of(session, case.id)][-1] == (
        "report",
        event.id,
    )


def test_the_allow_list_and_the_addresses():
    policy = fetch.FetchPolicy(hosts=("photos.example.org", "*.cdn.example.net"))
    assert fetch.host_allowed("photos.example.org", policy.hosts)
    assert fetch.host_allowed("a.b.cdn.example.net", policy.hosts)
    assert not fetch.host_allowed("cdn.example.net", policy.hosts)
    assert not fetch.host_allowed("evilcdn.example.net", policy.hosts)
    assert not fetch.host_allowed("photos.example.org.evil.com", policy.hosts)
    for address in ("10.1.2.3", "169.254.169.254", "::1", "::ffff:127.0.0.1", "100.64.0.1"):
        assert not fetch._public(address), address
    assert fetch._public("93.184.216.34")
    for url, why in [
        ("ftp://photos.example.org/a.jpg", "only http and https"),
        ("http://user:pw@photos.example.org/a.jpg", "user name or password"),
        ("http://other.example.org/a.jpg", "not on the list"),
    ]:
        with pytest.raises(fetch.FetchRefused, match=why):
            fetch.check_url(url, policy)
    with pytest.raises(ValidationError, match="never \\*"):
        Settings(open311_media_fetch_hosts="*")
