"""The site's pages assembled: the home page, the language switch, static files, the sign-in
redirect, and each domain's pages (auth, citizen, cases, org, stats, command)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from civicgrid.auth import pages as auth_pages
from civicgrid.auth.deps import OptionalUser
from civicgrid.cases import pages as case_pages
from civicgrid.citizen import pages as citizen_pages
from civicgrid.command import pages as command_pages
from civicgrid.org import pages as org_pages
from civicgrid.stats import pages as stats_pages
from civicgrid.web.layout import PACKAGE, LoginRedirect, render

router = APIRouter(include_in_schema=False)
DOMAIN_PAGES = [
    citizen_pages.router,
    auth_pages.router,
    case_pages.router,
    org_pages.router,
    stats_pages.router,
    command_pages.router,
]


@router.get("/", response_class=HTMLResponse)
def index(request: Request, user: OptionalUser) -> HTMLResponse:
    return render(request, "index.html", user, district="香坊区 · 哈尔滨市")


@router.get("/lang/{lang}")
def set_lang(lang: str, request: Request) -> RedirectResponse:
    back = request.headers.get("referer") or "/"
    response = RedirectResponse(back, status_code=303)
    response.set_cookie("lang", "en" if lang == "en" else "zh", max_age=365 * 86400, samesite="lax")
    return response


def install(app) -> None:
    """Pages, static files and the sign-in redirect."""
    app.mount("/static", StaticFiles(directory=str(PACKAGE / "static")), name="static")
    app.include_router(router)
    for pages in DOMAIN_PAGES:
        app.include_router(pages)

    @app.exception_handler(LoginRedirect)
    async def _to_login(_request: Request, exc: LoginRedirect) -> RedirectResponse:
        return RedirectResponse(f"/console/login?next={quote(exc.next_url)}", status_code=303)
