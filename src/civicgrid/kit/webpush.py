"""Web Push (RFC 8030, 8291, 8292): a message to a browser through its push service, encrypted
for the subscription (aes128gcm) and signed with this server's VAPID key.

The VAPID key is CIVICGRID_VAPID_PRIVATE_KEY (the private P-256 scalar, base64url) or, when
none is set, one generated once into <var_dir>/vapid_private_key, as the secret key is. With
several nodes the operator sets the same key on all (browsers subscribed with its public key).
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import http_ece
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from civicgrid.config import Settings

# A push service keeps an undelivered message this long (seconds) for a phone that is off.
TTL_SECONDS = 24 * 3600
# Answers meaning the subscription is gone for good: the browser unsubscribed or expired.
GONE = (404, 410)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class VapidKeyError(RuntimeError):
    """The configured or stored VAPID key is not a P-256 private key."""


_keys: dict[str, Vapid02] = {}


def key_path(settings: Settings) -> Path:
    return Path(settings.var_dir) / "vapid_private_key"


def _new_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def _stored_key(path: Path) -> str:
    """The key in the file, created exclusively (O_EXCL) when there is none: processes
    starting together end with one key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        deadline = time.monotonic() + 5
        while not (text := path.read_text(encoding="ascii").strip()):
            if time.monotonic() > deadline:
                raise VapidKeyError(f"the VAPID key file {path} is empty") from None
            time.sleep(0.02)
        return text
    text = _new_key()
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(text + "\n")
        f.flush()
        os.fsync(f.fileno())
    return text


def vapid(settings: Settings) -> Vapid02:
    """This server's VAPID key (read or generated once per process)."""
    raw = settings.vapid_private_key or _stored_key(key_path(settings).absolute())
    if raw not in _keys:
        try:
            _keys[raw] = Vapid02.from_raw(raw.encode())
        except Exception as exc:  # noqa: BLE001 - any decoding failure is a bad key
            raise VapidKeyError(
                "CIVICGRID_VAPID_PRIVATE_KEY (or var/vapid_private_key) is not a P-256 private "
                f"key in base64url: {exc}"
            ) from exc
    return _keys[raw]


def public_key(settings: Settings) -> str:
    """The application server key a browser subscribes with (uncompressed point, base64url)."""
    point = vapid(settings).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str  # the browser's public key (base64url)
    auth: str  # the shared authentication secret (base64url)


def encrypt(subscription: Subscription, payload: bytes) -> bytes:
    """The payload encrypted for the subscription (RFC 8291, aes128gcm), with a new key."""
    return http_ece.encrypt(
        payload,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=unb64url(subscription.p256dh),
        auth_secret=unb64url(subscription.auth),
        version="aes128gcm",
    )


def send(settings: Settings, subscription: Subscription, message: dict) -> int:
    """Post the message (JSON) to the subscription's push service; its HTTP status (201 when
    taken; GONE when the subscription is no more). httpx.HTTPError when it cannot be reached."""
    parts = urlsplit(subscription.endpoint)
    claims = {
        "aud": f"{parts.scheme}://{parts.netloc}",
        "sub": settings.vapid_subject or _subject(settings),
        "exp": int(time.time()) + 12 * 3600,
    }
    headers = vapid(settings).sign(claims)
    headers |= {
        "TTL": str(TTL_SECONDS),
        "Urgency": "high",
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
    }
    body = encrypt(subscription, json.dumps(message, ensure_ascii=False).encode())
    answer = httpx.post(
        subscription.endpoint,
        content=body,
        headers=headers,
        timeout=settings.notify_timeout_seconds,
    )
    return answer.status_code


def _subject(settings: Settings) -> str:
    # a push service wants a way to reach the sender: the site's address, or a mailbox
    return settings.public_base_url or "mailto:civicgrid@localhost"
