"""The citizen's phone pages: report a problem, track a report."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from civicgrid.auth.deps import OptionalUser
from civicgrid.categories import service as cat_service
from civicgrid.citizen import service
from civicgrid.kit.db import utcnow
from civicgrid.kit.http import AppSettings, DbSession
from civicgrid.web.i18n import lang_of
from civicgrid.web.layout import render, words

router = APIRouter(include_in_schema=False)


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
