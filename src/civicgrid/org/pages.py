"""The directory page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicgrid.auth.deps import PageUser
from civicgrid.kit.http import DbSession
from civicgrid.org import service
from civicgrid.web.layout import render

router = APIRouter(include_in_schema=False)


@router.get("/directory", response_class=HTMLResponse)
def directory(request: Request, session: DbSession, user: PageUser, q: str = "") -> HTMLResponse:
    viewer = {"viewer_unit_id": user.person.org_unit_id, "viewer_is_admin": user.has_role("admin")}
    found = service.search_people(session, q=q, limit=200, **viewer)
    people = [
        {
            "name": p.name,
            "title": p.title,
            "org_unit_name": p.org_unit.name,
            "phones": service.visible_phones(p, **viewer),
        }
        for p in found
    ]
    return render(request, "directory.html", user, people=people, q=q, tree=service.tree(session))
