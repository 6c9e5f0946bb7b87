"""What every HTML page shares: the templates, rendering with the user's language, the words
page scripts read. (The signed-in user of a page, or a redirect to the sign-in page, is
auth.deps.PageUser.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from civicgrid.web.i18n import WORDS, lang_of, translator

PACKAGE = Path(__file__).parent.parent
TEMPLATES = Jinja2Templates(directory=str(PACKAGE / "templates"))


def render(request: Request, name: str, user: Any, **context) -> HTMLResponse:
    lang = lang_of(request)
    return TEMPLATES.TemplateResponse(
        request, f"web/{name}", {"t": translator(lang), "lang": lang, "user": user, **context}
    )


def words(lang: str) -> dict:
    t = translator(lang)
    extra = {
        "need_category": ("请选择问题类别", "choose a category"),
        "need_score": ("请选择评分", "choose a score"),
        "failed": ("提交失败, 请重试", "failed, try again"),
    }
    out = {k: t(k) for k in WORDS}
    out.update({k: v[1 if lang == "en" else 0] for k, v in extra.items()})
    return out


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


def error_page(request: Request, status: int, zh: str, en: str) -> HTMLResponse:
    """A refusal as the site's own page (kit.errors installs it for every path a person sees):
    the status kept, the sentence in the page's language, a way back."""
    lang = lang_of(request)
    index = 1 if lang == "en" else 0
    title = ERROR_TITLES.get(status, ERROR_TITLES[500] if status >= 500 else ERROR_TITLES[400])
    response = TEMPLATES.TemplateResponse(
        request,
        "web/error.html",
        {
            "t": translator(lang),
            "lang": lang,
            "user": None,
            "status": status,
            "title": title[index],
            "message": (zh, en)[index],
        },
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
