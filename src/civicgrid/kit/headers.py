"""Security headers on every answer (pure ASGI, like observability.RequestMiddleware).

- Content-Security-Policy: scripts and styles from this site only (the vendored Leaflet and
  ECharts, our static JS and CSS; no inline script, no inline style), images from this site and
  the tile host, no plugins, no <base>, forms posted here only, never framed.
- X-Frame-Options: DENY for browsers that do not read frame-ancestors.
- X-Content-Type-Options: nosniff.
- Referrer-Policy: same-origin. A tracking link carries its secret in the query string; with
  same-origin the Referer goes only to this site, which knows the secret already, so a tile host
  (or any other site) never sees it. no-referrer would also make Chromium send `Origin: null` on
  the site's own POSTs, which an Origin check against cross-site forms has to refuse.
- Cache-Control: no-store on everything but /static/, the map tiles (/tiles/, which set their
  own) and allowed photos: staff pages and API answers must not come back from the cache after
  sign-out (Back), and a citizen's tracking page shows their case. A photo is immutable at its
  address: one the caller may see keeps the route's own caching (private, or public for a few
  minutes for Open311's public photos).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from civicgrid.config import get_settings

log = logging.getLogger(__name__)

STATIC_PREFIX = "/static/"
# Answers here say how long they may be kept (map tiles); without a Cache-Control of their
# own (a refusal) they get no-store like the rest.
OWN_CACHE_PREFIXES = ("/tiles/",)
# FastAPI's API explorer (Swagger UI, ReDoc) is not ours: it runs an inline script and loads
# its files from a CDN. It gets a policy that still forbids framing, plugins and <base>.
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
DOCS_POLICY = "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"

_HOST = re.compile(r"^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$")


def tile_source(tile_url: str | None) -> str | None:
    """The CSP source of a tile URL template: its scheme and host, a leading templated label
    ({s}.tile.example.org, t{s}.example.cn) as `*.`; None when the tiles come from this site
    (a relative URL) or the template is not an http(s) URL with a plain host."""
    if not tile_url or "://" not in tile_url:
        return None
    scheme, rest = tile_url.split("://", 1)
    host = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    labels = host.split(".")
    if "{" in labels[0]:
        host = ".".join(["*", *labels[1:]])
    if scheme.lower() not in ("http", "https") or not _HOST.match(host):
        log.warning("tile URL %r has no plain host: its tiles are not allowed as images", tile_url)
        return None
    return f"{scheme.lower()}://{host}"


@lru_cache(maxsize=8)
def content_security_policy(tile_url: str | None) -> str:
    """The site's policy, with the tile host among the image sources."""
    images = " ".join(filter(None, ["'self' data: blob:", tile_source(tile_url)]))
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
            f"img-src {images}",
            "connect-src 'self'",
            # Leaflet and ECharts position and size their elements through element.style
            # (CSSOM), which a policy does not restrict: no 'unsafe-inline' is needed.
            "style-src 'self'",
        ]
    )


COMMON = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


def _own_caching(status: int | None, headers: list[tuple[bytes, bytes]]) -> bool:
    """A photo the route has allowed (200, an image) keeps the caching the route chose
    (kit.http.stored_file: private for photos behind a sign-in or a tracking secret); every
    other answer, a refusal of a photo too, is no-store."""
    if status != 200:
        return False
    names = {k.lower(): v for k, v in headers}
    return b"cache-control" in names and names.get(b"content-type", b"").startswith(b"image/")


class SecurityHeaders:
    """Adds the headers above to every HTTP answer, replacing any the app set itself, but for
    the caching of a photo the caller may see (`_own_caching`)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in DOCS_PATHS:
            policy = DOCS_POLICY
        else:
            policy = content_security_policy(get_settings().tile_url)
        extra = [*COMMON, (b"content-security-policy", policy.encode())]
        own_cache = path.startswith(OWN_CACHE_PREFIXES)
        if not path.startswith(STATIC_PREFIX) and not own_cache:
            extra.append((b"cache-control", b"no-store"))

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                own = list(message.get("headers", []))
                added = extra
                if own_cache and not any(k.lower() == b"cache-control" for k, _ in own):
                    added = [*extra, (b"cache-control", b"no-store")]
                elif _own_caching(message.get("status"), own):
                    added = [(k, v) for k, v in extra if k != b"cache-control"]
                names = {name for name, _ in added}
                kept = [(k, v) for k, v in own if k.lower() not in names]
                message["headers"] = kept + added
            await send(message)

        await self.app(scope, receive, send_wrapper)


def install(app) -> None:
    app.add_middleware(SecurityHeaders)
