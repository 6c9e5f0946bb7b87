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
