"""The first look at every request, before any route: how much it may send, what its text may
hold, and where an unsafe request with a session cookie may come from.

- Size: a cap on the body per route (JSON and forms 64 KiB unless a route says more: photo
  uploads and imports are capped by settings). A declared length over the cap is refused before
  a byte is read; a body that grows past it is refused as soon as it does. 413.
- Text: the path, the query string and the body's text — every string of a JSON body, every
  field of a form, every text part of a multipart form (files are not text) — must decode as
  UTF-8 and pass `kit.text`'s rule (no control characters, nothing undecodable). 400 naming the
  field. Routes may check more; none needs to check this again.
- Cross-site requests: a POST, PUT, PATCH or DELETE that carries the session cookie and no
  bearer token must come from this site — its Origin (or, without one, its Referer) is the site
  the request was sent to, or the configured public address — or carry the session's CSRF token
  in `X-CSRF-Token`. 403 otherwise. Requests with a bearer token are not affected: a browser
  never adds one by itself.

Refusals are answered in the format of the path: Open311's error document under /open311/, the
API's error body elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import unquote_to_bytes, urlsplit

import orjson
from python_multipart.multipart import MultipartParser, parse_options_header

from civicgrid.kit.errors import AppError, Forbidden
from civicgrid.kit.text import BadText, bad_char

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_BODY_LIMIT = 64 * 1024


class BodyTooLarge(AppError):
    status_code = 413
    error = "payload_too_large"

    def __init__(self, limit: int):
        size = f"{limit // 1024 // 1024} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
        super().__init__(
            f"提交的内容过大 (此处最多 {size})",
            f"the request body is too large (at most {size} here)",
            extra={"limit_bytes": limit},
        )


class CrossSite(Forbidden):
    def __init__(self):
        super().__init__(
            "请求不是来自本站页面, 已拒绝 (请从本站页面操作, 或使用 API 令牌)",
            "the request did not come from this site's pages (Origin/Referer) and carries no "
            "CSRF token; use the site's pages, or an API bearer token",
        )


@dataclass(frozen=True)
class BodyLimit:
    """Requests of `method` whose path matches `pattern` may send up to `limit()` bytes."""

    method: str
    pattern: re.Pattern[str]
    limit: Callable[[], int]


def csrf_token(cookie_value: str) -> str:
    """The CSRF token of a session cookie: only someone who can read the cookie can make it,
    and a cross-site page cannot read an HttpOnly cookie."""
    return hashlib.sha256(f"civicgrid-csrf:{cookie_value}".encode()).hexdigest()


class InputGuard:
    """Pure ASGI middleware; see the module's docstring."""

    def __init__(
        self,
        app,
        *,
        limits: list[BodyLimit],
        session_cookie: str,
        public_origin: Callable[[], str | None],
        render: Callable[[str, AppError], tuple[int, list[tuple[bytes, bytes]], bytes]],
    ):
        self.app = app
        self.limits = limits
        self.session_cookie = session_cookie
        self.public_origin = public_origin
        self.render = render

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            _check_url(scope)
            method = scope["method"]
            if method in UNSAFE:
                headers = _headers(scope)
                self._check_origin(scope, headers)
                body = await self._read_body(scope, headers, receive)
                _check_body(headers.get("content-type", ""), body)
                receive = _replay(body, receive)
        except AppError as exc:
            await self._refuse(scope, send, exc)
            return
        await self.app(scope, receive, send)

    async def _refuse(self, scope, send, exc: AppError) -> None:
        status, headers, body = self.render(scope["path"], exc)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _limit(self, method: str, path: str) -> int:
        for rule in self.limits:
            if rule.method == method and rule.pattern.fullmatch(path):
                return rule.limit()
        return DEFAULT_BODY_LIMIT

    async def _read_body(self, scope, headers: dict[str, str], receive) -> bytes:
        limit = self._limit(scope["method"], scope["path"])
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _check_origin(self, scope, headers: dict[str, str]) -> None:
        cookie = _cookie(headers.get("cookie", ""), self.session_cookie)
        if cookie is None or headers.get("authorization", "").lower().startswith("bearer "):
            return
        token = headers.get("x-csrf-token")
        if token and hmac.compare_digest(token, csrf_token(cookie)):
            return
        origin = headers.get("origin")
        if origin is None:
            referer = headers.get("referer")
            if referer:
                parts = urlsplit(referer)
                origin = f"{parts.scheme}://{parts.netloc}"
        if origin is None or origin.lower() not in self._site_origins(scope, headers):
            raise CrossSite()

    def _site_origins(self, scope, headers: dict[str, str]) -> set[str]:
        origins = set()
        host = headers.get("host")
        if host:
            origins.add(f"{scope.get('scheme', 'http')}://{host}".lower())
        public = self.public_origin()
        if public:
            parts = urlsplit(public)
            origins.add(f"{parts.scheme}://{parts.netloc}".lower())
        return origins


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or ()}


def _cookie(header: str, name: str) -> str | None:
    if name not in header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # noqa: BLE001 - a malformed Cookie header carries no session
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def _text(raw: bytes, field: str, *, multiline: bool) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadText(field, "\ufffd") from None
    char = bad_char(text, multiline=multiline)
    if char is not None:
        raise BadText(field, char)
    return text


def _check_url(scope) -> None:
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    _text(unquote_to_bytes(raw_path), "path", multiline=False)
    query = scope.get("query_string") or b""
    if query:
        _check_pairs(query, "query")


def _check_pairs(data: bytes, where: str) -> None:
    """Names and values of an URL-encoded list (a query string, a form body), each decoded
    strictly so that a refusal names its field."""
    for item in data.split(b"&"):
        if not item:
            continue
        raw_name, _eq, raw_value = item.partition(b"=")
        name = _text(unquote_to_bytes(raw_name.replace(b"+", b" ")), where, multiline=False)
        value = unquote_to_bytes(raw_value.replace(b"+", b" "))
        _text(value, name or where, multiline=where != "query")


def _check_body(content_type: str, body: bytes) -> None:
    if not body:
        return
    kind, options = parse_options_header(content_type)
    if kind == b"application/json" or kind.endswith(b"+json"):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            # Not UTF-8, a lone surrogate (\ud800, which orjson refuses and Python's json
            # takes), or not JSON at all: the first two are refused here as everywhere else,
            # the last is the route's 422.
            _text(body, "body", multiline=True)
            try:
                data = json.loads(body)
            except ValueError:
                return
        for field, text in _strings(data, ""):
            char = bad_char(text)
            if char is not None:
                raise BadText(field or "body", char)
    elif kind == b"application/x-www-form-urlencoded":
        _check_pairs(body, "form")
    elif kind == b"multipart/form-data" and b"boundary" in options:
        _check_multipart(options[b"boundary"], body)


def _strings(value, path: str) -> Iterator[tuple[str, str]]:
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for key, inner in item.items():
                name = f"{where}.{key}" if where else str(key)
                yield name, key
                stack.append((name, inner))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", inner) for i, inner in enumerate(item))


def _check_multipart(boundary: bytes, body: bytes) -> None:
    """The text parts of a multipart form (parts without a filename); files are left alone."""
    parts: list[tuple[dict[bytes, bytes], list[bytes]]] = []
    header = {"field": b"", "value": b""}

    def on_part_begin():
        parts.append(({}, []))

    def on_header_field(data, start, end):
        header["field"] += data[start:end]

    def on_header_value(data, start, end):
        header["value"] += data[start:end]

    def on_header_end():
        parts[-1][0][header["field"].lower()] = header["value"]
        header["field"] = header["value"] = b""

    def on_part_data(data, start, end):
        headers = parts[-1][0]
        _kind, options = parse_options_header(headers.get(b"content-disposition", b""))
        if b"filename" not in options:
            parts[-1][1].append(data[start:end])

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except Exception:  # noqa: BLE001 - a malformed form: the route refuses it with its reason
        return
    for headers, data in parts:
        _kind, options = parse_options_header(headers.get(b"content-disposition", b""))
        if b"filename" in options:
            continue
        name = _text(options.get(b"name", b""), "form", multiline=False)
        _text(b"".join(data), name or "form", multiline=True)


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class OpsGate:
    """Pure ASGI middleware: the operators' pages (metrics, the API's documents) answer only
    callers from the allowed addresses or with the operators' bearer token; anyone else gets
    404, as if they were not there."""

    def __init__(self, app, *, paths: frozenset[str], allowed: str, token: str | None):
        self.app = app
        self.paths = paths
        self.networks = [ipaddress.ip_network(a.strip()) for a in allowed.split(",") if a.strip()]
        self.token = token

    def allows(self, scope) -> bool:
        client = scope.get("client")
        if client:
            try:
                address = ipaddress.ip_address(client[0])
            except ValueError:
                address = None
            if address is not None and any(address in net for net in self.networks):
                return True
        if self.token:
            given = _headers(scope).get("authorization", "")
            if given.lower().startswith("bearer ") and hmac.compare_digest(
                given[7:].strip().encode(), self.token.encode()
            ):
                return True
        return False

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] in self.paths and not self.allows(scope):
            body = orjson.dumps({"error": "not_found", "detail": "未找到 / Not Found"})
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
