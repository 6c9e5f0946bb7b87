"""The command centre's big screen; during a snow event it switches to the snow layout
(snowfields.service.layout: sections coloured by state, fields with fill bars, trucks live)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicgrid.auth.deps import PageUser
from civicgrid.kit.db import utcnow
from civicgrid.kit.http import AppSettings, DbSession
from civicgrid.snowfields import service as snow_service
from civicgrid.web.i18n import lang_of, page_words
from civicgrid.web.layout import render, words

router = APIRouter(include_in_schema=False)


@router.get("/command", response_class=HTMLResponse)
def command(
    request: Request, session: DbSession, user: PageUser, settings: AppSettings
) -> HTMLResponse:
    """The big screen of the command centre, pushed live by server-sent events."""
    snow = snow_service.layout(session, settings, utcnow())
    all_words = words(lang_of(request))
    if snow is not None:
        all_words.update({f"snow_{k}": v for k, v in page_words(request, "snow_").items()})
    return render(
        request,
        "command.html",
        user,
        tiles=settings.tile_url,
        words=all_words,
        snow=snow,
    )
