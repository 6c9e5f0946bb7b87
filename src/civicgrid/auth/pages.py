"""Sign-in and sign-out pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from civicgrid.auth.deps import SESSION_COOKIE, OptionalUser
from civicgrid.auth.signin import set_session_cookie, sign_in, sign_out
from civicgrid.kit.errors import AppError
from civicgrid.kit.http import AppSettings, DbSession
from civicgrid.kit.text import site_path
from civicgrid.web.i18n import lang_of
from civicgrid.web.layout import render

router = APIRouter(include_in_schema=False)


@router.get("/console/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/console") -> HTMLResponse:
    return render(request, "login.html", None, next=next, error=None)


@router.post("/console/login")
async def login_submit(
    request: Request,
    settings: AppSettings,
    username: Annotated[str, Form(max_length=60)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form()] = "/console",
) -> Response:
    """The sign-in form: the same check, lockout and session as POST /api/v1/auth/login."""
    try:
        _, cookie = await sign_in(request, username, password, settings)
    except AppError as exc:
        message = exc.zh if lang_of(request) == "zh" else exc.en
        response = render(request, "login.html", None, next=next, error=message)
        response.status_code = exc.status_code
        return response
    target = site_path(next) or "/console"
    return set_session_cookie(RedirectResponse(target, status_code=303), cookie, settings)


@router.post("/console/logout")
def logout(request: Request, session: DbSession, user: OptionalUser) -> RedirectResponse:
    """Sign out: the session ends on the server, so the old cookie stops working at once."""
    sign_out(session, request, user)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
