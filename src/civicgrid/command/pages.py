"""The command centre's big screen."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicgrid.auth.deps import PageUser
from civicgrid.kit.http import AppSettings
from civicgrid.web.i18n import lang_of
from civicgrid.web.layout import render, words

router = APIRouter(include_in_schema=False)


@router.get("/command", response_class=HTMLResponse)
def command(request: Request, user: PageUser, settings: AppSettings) -> HTMLResponse:
    """The big screen of the command centre, pushed live by server-sent events."""
    return render(
        request, "command.html", user, tiles=settings.tile_url, words=words(lang_of(request))
    )
