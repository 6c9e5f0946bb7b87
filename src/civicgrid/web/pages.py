"""What the site has beside the domains' pages: the home page, the language switch, static
files and the icon, the sign-in redirect."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from civicgrid.auth.deps import LoginRedirect, OptionalUser
from civicgrid.config import get_settings
from civicgrid.kit.text import site_path
from civicgrid.web.layout import PACKAGE, render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request, user: OptionalUser) -> HTMLResponse:
    return render(request, "index.html", user)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The site's icon where browsers look for it unasked (base.html links the SVG)."""
    return FileResponse(
        PACKAGE / "static" / "favicon.ico",
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )


def _back(request: Request) -> str:
    """Where the language switch returns: the page it was clicked on (its Referer's path and
    query) when that page is on this site, else the home page; never another site."""
    referer = urlsplit(request.headers.get("referer") or "")
    ours = {request.headers.get("host", "").lower()}
    public = get_settings().public_base_url
    if public:
        ours.add(urlsplit(public).netloc.lower())
    if referer.netloc.lower() not in ours:
        return "/"
    path = (referer.path or "/") + (f"?{referer.query}" if referer.query else "")
    return site_path(path) or "/"


@router.get("/lang/{lang}")
def set_lang(lang: str, request: Request) -> RedirectResponse:
    response = RedirectResponse(_back(request), status_code=303)
    response.set_cookie("lang", "en" if lang == "en" else "zh", max_age=365 * 86400, samesite="lax")
    return response


def install(app) -> None:
    """The home page, the language switch, static files and the sign-in redirect (each domain's
    pages are included by civicgrid.app)."""
    app.mount("/static", StaticFiles(directory=str(PACKAGE / "static")), name="static")
    app.include_router(router)

    @app.exception_handler(LoginRedirect)
    async def _to_login(_request: Request, exc: LoginRedirect) -> RedirectResponse:
        return RedirectResponse(f"/console/login?next={quote(exc.next_url)}", status_code=303)
