"""The citizen's phone pages: report a problem, track a report."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from civicgrid.auth.deps import OptionalUser, PageUser
from civicgrid.categories import service as cat_service
from civicgrid.citizen import service
from civicgrid.kit.db import utcnow
from civicgrid.kit.errors import Forbidden
from civicgrid.kit.http import AppSettings, DbSession
from civicgrid.web.i18n import lang_of
from civicgrid.web.layout import TEMPLATES, render, words

router = APIRouter(include_in_schema=False)
# the header's link to the staff entry page, for the roles that may use it
TEMPLATES.env.globals["may_enter"] = lambda user: bool(service.entry_sources(user))


def categories_for_citizens(session) -> list[dict]:
    """The catalogue, the most reported categories of the last 90 days first."""
    counts = service.reported_by_category(session, since=utcnow() - dt.timedelta(days=90))
    return sorted(
        cat_service.citizen_catalogue(session),
        key=lambda c: (-counts.get(c["code"], 0), c["code"]),
    )


@router.get("/report", response_class=HTMLResponse)
def report_page(
    request: Request, session: DbSession, user: OptionalUser, settings: AppSettings
) -> HTMLResponse:
    return render(
        request,
        "report.html",
        user,
        tiles=settings.tile_url,
        categories=categories_for_citizens(session),
        words=words(lang_of(request)),
    )


@router.get("/track", response_class=HTMLResponse)
def track_find(request: Request, user: OptionalUser, code: str = "", s: str = "") -> Response:
    """How to find a case: its code and tracking secret (the form sends them to /track/{code})."""
    code = code.strip().upper()
    if code:
        target = f"/track/{quote(code, safe='')}"
        if s.strip():
            target += f"?s={quote(s.strip(), safe='')}"
        return RedirectResponse(target, status_code=303)
    return render(request, "track_find.html", user)


@router.get("/track/{code}", response_class=HTMLResponse)
def track_page(code: str, request: Request, user: OptionalUser) -> HTMLResponse:
    return render(request, "track.html", user, code=code, words=words(lang_of(request)))


@router.get("/console/new", response_class=HTMLResponse)
def entry_page(
    request: Request, session: DbSession, user: PageUser, settings: AppSettings, mode: str = ""
) -> HTMLResponse:
    """Staff's case entry: a supervisor's patrol (photos, GPS or a tap) or a hotline call (the
    caller, the callback wish, the caller's earlier cases beside the form)."""
    modes = service.entry_sources(user)
    if not modes:
        raise Forbidden("您的角色不能录入案件", "your roles may not enter cases")
    return render(
        request,
        "entry.html",
        user,
        mode=mode if mode in modes else modes[0],
        modes=modes,
        tiles=settings.tile_url,
        categories=categories_for_citizens(session),
        words=words(lang_of(request)),
    )
