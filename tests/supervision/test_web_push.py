"""Web Push of new cases to the handler app: the server's VAPID key, the subscriptions, and a
small push service over real HTTP that checks the VAPID signature and decrypts the message
(aes128gcm) with the subscription's private key, as a browser's push service and browser do."""

import base64
import http.server
import json
import os

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select

from civicgrid.config import get_settings
from civicgrid.kit import webpush
from civicgrid.supervision import service
from civicgrid.supervision.models import PushSubscription
from tests.cases.test_cases_api import new_case
from tests.factories import login, world
from tests.servers import serving


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """A browser's side of a subscription: its P-256 key and authentication secret."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.p256dh = b64(
            self.key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )


def push_service(browsers: dict[str, Browser], received: list, gone: set[str]):
    """The push service: checks the VAPID JWT against the key it names, decrypts the body for
    the browser of the path; 410 for a path whose browser unsubscribed."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            path = self.path.strip("/")
            if path in gone:
                self.send_response(410)
                self.end_headers()
                return
            try:
                received.append(self._open(path, body))
                self.send_response(201)
            except Exception as exc:  # noqa: BLE001 - the test sees what failed
                received.append({"error": repr(exc)})
                self.send_response(400)
            self.end_headers()

        def _open(self, path: str, body: bytes) -> dict:
            scheme, _, params = self.headers["Authorization"].partition(" ")
            fields = dict(p.split("=", 1) for p in params.split(","))
            token, key = fields["t"], fields["k"]
            head, claims, signature = token.split(".")
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(key))
            raw = unb64(signature)
            der = encode_dss_signature(
                int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
            )
            try:
                public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                raise AssertionError("bad VAPID signature") from None
            browser = browsers[path]
            message = http_ece.decrypt(
                body, private_key=browser.key, auth_secret=browser.auth, version="aes128gcm"
            )
            return {
                "path": path,
                "scheme": scheme,
                "vapid_key": key,
                "claims": json.loads(unb64(claims)),
                "encoding": self.headers["Content-Encoding"],
                "ttl": self.headers["TTL"],
                "message": json.loads(message),
            }

        def log_message(self, *args):
            pass

    return Handler


def test_a_dispatched_case_is_pushed_to_the_units_handlers_browsers(
    client, session, tmp_path, monkeypatch
):
    monkeypatch.setenv("CIVICGRID_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    world(session)
    browsers = {"ha-phone": Browser(), "ha-old": Browser(), "disp-pc": Browser()}
    received: list[dict] = []
    gone = {"ha-old"}
    with serving(push_service(browsers, received, gone)) as base:
        # Given the handler's two browsers subscribed (one since unsubscribed at the push
        # service) and the dispatcher's, with the key the server generated under var/
        login(client, "ha")
        key = client.get("/api/v1/supervision/push/key").json()["public_key"]
        assert (tmp_path / "var" / "vapid_private_key").is_file()
        for name in ("ha-phone", "ha-old"):
            b = browsers[name]
            r = client.post(
                "/api/v1/supervision/push/subscriptions",
                json={
                    "endpoint": f"{base}/{name}",
                    "keys": {"p256dh": b.p256dh, "auth": b64(b.auth)},
                },
            )
            assert r.status_code == 201, r.text
        login(client, "disp")
        b = browsers["disp-pc"]
        client.post(
            "/api/v1/supervision/push/subscriptions",
            json={"endpoint": f"{base}/disp-pc", "keys": {"p256dh": b.p256dh, "auth": b64(b.auth)}},
        )
        # When the dispatcher's case is dispatched to the street (its handlers: ha, sta)
        spawned = []
        monkeypatch.setattr(service, "_spawn", lambda target, *args: spawned.append((target, args)))
        code = new_case(client)["code"]
        assert [(args[1], [t[1] for t in args[2]]) for _t, args in spawned] == [
            (code, [f"{base}/ha-phone", f"{base}/ha-old"])
        ]
        for target, args in spawned:
            target(*args)
    # Then the handler's live browser got the case, encrypted for it and signed with the key
    # it subscribed with; the gone one is dropped; the dispatcher hears nothing
    assert [r.get("path") for r in received] == ["ha-phone"], received
    got = received[0]
    assert got["scheme"] == "vapid" and got["vapid_key"] == key
    assert got["claims"]["aud"] == base and got["claims"]["sub"].startswith(("mailto:", "http"))
    assert got["encoding"] == "aes128gcm" and int(got["ttl"]) > 0
    assert got["message"]["code"] == code and got["message"]["url"] == f"/app/#/case/{code}"
    assert code in got["message"]["body"]
    left = session.scalars(select(PushSubscription.endpoint).order_by(PushSubscription.id))
    assert list(left) == [f"{base}/ha-phone", f"{base}/disp-pc"]


def test_subscriptions_are_checked_and_forgotten_on_sign_out(client, session):
    world(session)
    login(client, "ha")
    b = Browser()
    url = "/api/v1/supervision/push/subscriptions"
    good = {
        "endpoint": "https://push.example.org/x",
        "keys": {"p256dh": b.p256dh, "auth": b64(b.auth)},
    }
    for bad in (
        {**good, "endpoint": "ftp://push.example.org/x"},
        {**good, "keys": {"p256dh": b64(b"\x04" + b"1" * 10), "auth": b64(b.auth)}},
        {**good, "keys": {"p256dh": b.p256dh, "auth": "!!"}},
    ):
        r = client.post(url, json=bad)
        assert r.status_code == 400, (bad, r.text)
    assert client.post(url, json=good).status_code == 201
    assert client.post(url, json=good).status_code == 201  # again: still one
    assert session.scalar(select(PushSubscription.username)) == "ha"
    login(client, "disp")  # another user cannot drop it
    client.post("/api/v1/supervision/push/unsubscribe", json={"endpoint": good["endpoint"]})
    assert session.scalar(select(PushSubscription.username)) == "ha"
    login(client, "ha")
    r = client.post("/api/v1/supervision/push/unsubscribe", json={"endpoint": good["endpoint"]})
    assert r.status_code == 204 and session.scalar(select(PushSubscription.id)) is None
    client.post("/api/v1/auth/logout")
    assert client.get("/api/v1/supervision/push/key").status_code == 401


def test_a_configured_vapid_key_is_used_as_it_is(monkeypatch, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    raw = b64(key.private_numbers().private_value.to_bytes(32, "big"))
    monkeypatch.setenv("CIVICGRID_VAPID_PRIVATE_KEY", raw)
    monkeypatch.setenv("CIVICGRID_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert webpush.public_key(get_settings()) == b64(point)
    assert not (tmp_path / "vapid_private_key").exists()
