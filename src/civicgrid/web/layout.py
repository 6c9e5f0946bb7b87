"""What every HTML page shares: the templates, rendering with the user's language, the words
page scripts read. (The signed-in user of a page, or a redirect to the sign-in page, is
auth.deps.PageUser.)"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from civicgrid.config import get_settings
from civicgrid.kit.errors import sentence
from civicgrid.web.i18n import WORDS, lang_of, translator

PACKAGE = Path(__file__).parent.parent
TEMPLATES = Jinja2Templates(directory=str(PACKAGE / "templates"))

# The header's links for signed-in staff: (path, word, roles that may open it; None = every
# signed-in user). The pages themselves check the same roles; this list only hides what a
# role could not open anyway.
NAV: tuple[tuple[str, str, tuple[str, ...] | None], ...] = (
    ("/console", "console", None),
    ("/board", "board", None),
    ("/command", "command", None),
    ("/stats", "stats", None),
    ("/directory", "directory", None),
    ("/vehicles", "vehicles", None),
    ("/snow", "snow_title", None),
    ("/notices/desk", "notices", None),
    ("/worklogs", "worklogs", None),
    ("/spotchecks", "spotchecks", ("supervisor", "dispatcher", "admin", "leader")),
    ("/supervision", "sup_title", ("leader", "dispatcher", "admin")),
    ("/app/", "sup_app", ("handler",)),
    ("/admin", "admin", ("admin",)),
)


def nav_links(user: Any) -> list[tuple[str, str]]:
    """The header links `user` may follow, in menu order."""
    return [(href, key) for href, key, roles in NAV if roles is None or user.has_role(*roles)]


def seconds_left(deadline: dt.datetime | None, now: dt.datetime) -> int | None:
    """Whole seconds from `now` to `deadline` (negative once late); None without a deadline."""
    if deadline is None:
        return None
    if deadline.tzinfo is None:  # SQLite hands back naive UTC
        deadline = deadline.replace(tzinfo=dt.UTC)
    return int((deadline - now).total_seconds())


def time_left(t: Any, seconds: int | None) -> str:
    """ "剩 2 小时 5 分" / "超时 1 天 3 小时" ("2 h 5 min left") in the page's language; "—"
    without a deadline."""
    if seconds is None:
        return "—"
    minutes = abs(seconds) // 60
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    parts = [(days, "unit_day"), (hours, "unit_hour"), (mins, "unit_minute")]
    shown = [f"{n} {t(key)}" for n, key in parts if n][:2] or [f"0 {t('unit_minute')}"]
    return t("time_left" if seconds >= 0 else "time_over").format(t=" ".join(shown))


TEMPLATES.env.globals["nav_links"] = nav_links


def map_config() -> dict:
    """The base map every page's maps use (static/js/map.js reads it from the #cg-map block):
    the tile URL template, its datum (wgs84 or gcj02: overlays are drawn on it) and its
    deepest zoom; no tiles: outlines on a plain background."""
    settings = get_settings()
    return {
        "tiles": settings.tile_url,
        "datum": settings.map_datum(),
        "max_zoom": settings.tile_max_zoom,
        "subdomains": settings.tile_subdomains,
    }


TEMPLATES.env.globals["map_config"] = map_config
TEMPLATES.env.globals["time_left"] = time_left


def render(request: Request, name: str, user: Any, **context) -> HTMLResponse:
    lang = lang_of(request)
    return TEMPLATES.TemplateResponse(
        request, f"web/{name}", {"t": translator(lang), "lang": lang, "user": user, **context}
    )


def words(lang: str) -> dict:
    """Every word of WORDS in `lang`, for the page scripts (CG.words)."""
    t = translator(lang)
    return {k: t(k) for k in WORDS}


ERROR_TITLES = {
    400: ("请求有误", "Bad request"),
    401: ("请先登录", "Please sign in"),
    403: ("无权访问", "Not allowed"),
    404: ("页面或案件不存在", "Not found"),
    405: ("不支持该操作", "Not supported"),
    409: ("状态已变化", "Changed meanwhile"),
    429: ("操作过于频繁", "Too many requests"),
    500: ("服务器出错", "Server error"),
    503: ("系统繁忙", "Busy"),
}


def error_page(
    request: Request, status: int, zh: str, en: str, *, user: Any = None
) -> HTMLResponse:
    """A refusal as the site's own page (kit.errors installs it for every path a person sees):
    the status kept, the sentence in the page's language, a way back; the header of `user`
    (the signed-in user, found by the app: this frame knows no domain) or of nobody."""
    lang = lang_of(request)
    index = 1 if lang == "en" else 0
    title = ERROR_TITLES.get(status, ERROR_TITLES[500] if status >= 500 else ERROR_TITLES[400])
    response = TEMPLATES.TemplateResponse(
        request,
        "web/error.html",
        {
            "t": translator(lang),
            "lang": lang,
            "user": user,
            "status": status,
            "title": title[index],
            "message": (zh, sentence(en))[index],
        },
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
