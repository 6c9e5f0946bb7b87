"""The administrators' page of the 12345 bridge: the outbox's dead letters (resend, inspect)
and its latest messages."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicgrid.auth.deps import PageUser
from civicgrid.hotline import queries, service
from civicgrid.kit.errors import Forbidden
from civicgrid.kit.http import DbSession, RowId
from civicgrid.kit.timefmt import local_zone
from civicgrid.web.layout import render

router = APIRouter(include_in_schema=False)


def _admin_only(user) -> None:
    if not user.has_role("admin"):
        raise Forbidden("此页面仅限管理员使用", "this page is for administrators only")


def _row(row) -> dict:
    def local(moment):
        return moment.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M:%S") if moment else ""

    return {
        "id": row.id,
        "order_no": row.order_no,
        "case_code": row.case_code,
        "status": row.status,
        "state": row.state,
        "attempts": row.attempts,
        "last_error": row.last_error or "",
        "created_at": local(row.created_at),
        "next_attempt_at": local(row.next_attempt_at),
        "sent_at": local(row.sent_at),
        "body": row.body,
    }


@router.get("/admin/hotline", response_class=HTMLResponse)
def outbox_page(request: Request, session: DbSession, user: PageUser) -> HTMLResponse:
    """Dead letters first (each with resend and inspect), then the latest messages."""
    _admin_only(user)
    return render(
        request,
        "hotline.html",
        user,
        dead=[_row(r) for r in queries.outbox(session, state="dead", limit=200)],
        recent=[_row(r) for r in queries.outbox(session, limit=50)],
        counts=queries.outbox_counts(session),
    )


@router.get("/admin/hotline/outbox/{message_id}", response_class=HTMLResponse)
def message_page(
    request: Request, session: DbSession, user: PageUser, message_id: RowId
) -> HTMLResponse:
    """One message: what is sent, how often it was tried, the last error; resend."""
    _admin_only(user)
    row = _row(service.message(session, message_id))
    body = json.dumps(row["body"], ensure_ascii=False, indent=2)
    return render(request, "hotline_message.html", user, m=row, body=body)
