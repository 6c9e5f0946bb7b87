"""What every HTML page shares: the templates, rendering with the user's language, the
signed-in user of a page (or a redirect to the sign-in page), the words page scripts read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from civicgrid.auth.deps import OptionalUser
from civicgrid.auth.models import User
from civicgrid.web.i18n import WORDS, lang_of, translator

PACKAGE = Path(__file__).parent.parent
TEMPLATES = Jinja2Templates(directory=str(PACKAGE / "templates"))


class LoginRedirect(Exception):
    def __init__(self, next_url: str):
        self.next_url = next_url


def render(request: Request, name: str, user: User | None, **context) -> HTMLResponse:
    lang = lang_of(request)
    return TEMPLATES.TemplateResponse(
        request, f"web/{name}", {"t": translator(lang), "lang": lang, "user": user, **context}
    )


def page_user(request: Request, user: OptionalUser) -> User:
    """The signed-in user, or a redirect to the sign-in page."""
    if user is None:
        raise LoginRedirect(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
    return user


PageUser = Annotated[User, Depends(page_user)]


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
