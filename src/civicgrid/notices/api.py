"""Notices' JSON routes: the signed-in person's notices (the handler app's list and badge)."""

from __future__ import annotations

from fastapi import APIRouter

from civicgrid.auth.deps import CurrentUser
from civicgrid.kit.http import DbSession
from civicgrid.notices import service
from civicgrid.notices.schemas import Inbox, InboxItem

router = APIRouter(prefix="/api/v1/notices", tags=["notices"])


@router.get("/inbox", response_model=Inbox)
def inbox(session: DbSession, user: CurrentUser) -> Inbox:
    """The internal notices shown now that are for the signed-in person (pinned first, newest
    first), each with when they read it and when they were reminded; `unread` counts the
    unread ones (the header's badge)."""
    kinds = {k.id: k for k in service.kinds(session)}
    items = [
        InboxItem(
            id=n.id,
            kind=kinds[n.kind_id].code,
            kind_name=kinds[n.kind_id].name,
            title=n.title,
            pinned=n.pinned,
            published_at=service.aware(n.published_at),
            read_at=service.aware(r.read_at),
            reminded_at=service.aware(r.reminded_at),
            url=f"/notices/{n.id}",
        )
        for n, r in service.inbox(session, user)
    ]
    return Inbox(unread=sum(1 for i in items if i.read_at is None), items=items)
