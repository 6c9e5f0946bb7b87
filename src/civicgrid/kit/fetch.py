"""Fetching a file a partner names by URL, safely: never an open fetcher.

`fetch` takes a URL only if its host is on an allow-list (exact names, or `*.example.org` for
subdomains; no `*`), resolves the host once and refuses it if any address it resolves to is not
a public one (loopback, private, link-local, carrier-grade NAT, multicast, reserved: the
server's own network) unless `allow_private`; then it connects to that very address (so a
second lookup cannot point elsewhere), with a timeout on every step and on the whole, and reads
at most `max_bytes`. A redirect is followed (at most MAX_REDIRECTS) only to a URL that passes
the same checks. What the bytes are is the caller's to check (photos: media.service decodes
them with Pillow).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 3
CHUNK = 64 * 1024


class FetchRefused(Exception):
    """The URL was not fetched, or its answer not taken: `reason` says why (for the logs and
    the fetch's record, never shown to the public)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FetchPolicy:
    hosts: tuple[str, ...]
    allow_private: bool = False
    max_bytes: int = 10 * 1024 * 1024
    timeout: float = 10.0


def host_allowed(host: str, hosts: tuple[str, ...]) -> bool:
    """Whether `host` is on the allow-list: an exact name or a `*.` pattern's subdomain."""
    host = host.lower().rstrip(".")
    for allowed in hosts:
        allowed = allowed.lower()
        if allowed.startswith("*."):
            if host.endswith(allowed[1:]) and len(host) > len(allowed) - 1:
                return True
        elif host == allowed:
            return True
    return False


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _address(host: str, port: int, policy: FetchPolicy) -> str:
    """The one address the connection goes to, after checking every address of the host."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchRefused(f"{host} does not resolve: {exc}") from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise FetchRefused(f"{host} does not resolve")
    if not policy.allow_private:
        inner = [a for a in addresses if not _public(a)]
        if inner:
            raise FetchRefused(f"{host} resolves to a non-public address ({inner[0]})")
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def check_url(url: str, policy: FetchPolicy) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL the policy lets be fetched; FetchRefused otherwise (no
    network is touched)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchRefused("only http and https URLs are fetched")
    if parts.username or parts.password:
        raise FetchRefused("a URL with a user name or password is not fetched")
    host = parts.hostname
    if not host:
        raise FetchRefused("the URL has no host")
    if not host_allowed(host, policy.hosts):
        raise FetchRefused(f"{host} is not on the list of hosts photos are fetched from")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchRefused("the URL's port is not a number from 0 to 65535") from None
    return parts.scheme, host, port


def fetch(url: str, policy: FetchPolicy) -> bytes:
    """The body of a 200 answer to GET `url`, at most `policy.max_bytes`; FetchRefused with the
    reason for anything else (a host not on the list or not public, a timeout, a bigger body, a
    status other than 200, too many redirects)."""
    deadline = time.monotonic() + policy.timeout
    for _ in range(MAX_REDIRECTS + 1):
        scheme, host, port = check_url(url, policy)
        address = _address(host, port, policy)
        kind = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
        left = max(deadline - time.monotonic(), 0.1)
        conn = kind(host, port, address, timeout=left)
        try:
            parts = urlsplit(url)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request("GET", target, headers={"User-Agent": "civicgrid", "Accept": "image/*"})
            sock = conn.sock  # the response reads it even once the connection lets it go
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise FetchRefused(f"a redirect ({response.status}) without a Location")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise FetchRefused(f"the server answered {response.status}")
            length = response.getheader("Content-Length")
            if length and length.isdigit() and int(length) > policy.max_bytes:
                raise FetchRefused(f"the file is larger than {policy.max_bytes} bytes")
            body = bytearray()
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise FetchRefused(f"not fetched within {policy.timeout:g} s")
                # each wait no longer than what is left, and one receive at a time (read1):
                # a server sending a byte now and then cannot hold the fetch past the deadline
                sock.settimeout(left)
                chunk = response.read1(CHUNK)
                if not chunk:
                    break
                body.extend(chunk)
                if len(body) > policy.max_bytes:
                    raise FetchRefused(f"the file is larger than {policy.max_bytes} bytes")
            return bytes(body)
        except TimeoutError:
            raise FetchRefused(f"not fetched within {policy.timeout:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise FetchRefused(f"{type(exc).__name__}: {exc}"[:200]) from None
        finally:
            conn.close()
    raise FetchRefused(f"more than {MAX_REDIRECTS} redirects")
