"""The 12345 bridge's JSON routes: the platform's webhooks (signed, no sign-in), the return of
an order (退单), the outbox's dead letters (admin), one's own notification preferences."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from civicgrid.auth.deps import CurrentUser, require_roles
from civicgrid.hotline import queries, service
from civicgrid.hotline.exceptions import BadOrder
from civicgrid.hotline.models import HotlineOutbox
from civicgrid.hotline.schemas import (
    OrderReceipt,
    OutboxRead,
    PreferenceRead,
    PreferenceUpdate,
    ReturnedOrder,
    ReturnOrder,
    SatisfactionReceipt,
)
from civicgrid.kit.http import AppSettings, DbSession, RowId

# the periodic jobs register when imported (the app imports this module)
JOBS = (service.POLL_JOB, service.OUTBOX_JOB, service.ATTACHMENTS_JOB)
MAX_BODY = 256 * 1024
public_router = APIRouter(prefix="/api/v1/hotline", tags=["hotline"])
router = APIRouter(prefix="/api/v1/hotline", tags=["hotline"])
admin = [Depends(require_roles("admin"))]


async def raw_body(request: Request) -> bytes:
    """The body as sent: the signature covers its bytes."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]
Timestamp = Annotated[str | None, Header(alias=service.TIMESTAMP_HEADER, max_length=20)]
Nonce = Annotated[str | None, Header(alias=service.NONCE_HEADER, max_length=64)]
Signature = Annotated[str | None, Header(alias=service.SIGNATURE_HEADER, max_length=128)]


def _signed_json(session, settings, body: bytes, timestamp, nonce, signature):
    service.verify(
        session, settings, timestamp=timestamp, nonce=nonce, signature=signature, body=body
    )
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadOrder("(body)", "不是有效的 JSON", "the body is not valid JSON") from None


@public_router.post(
    "/orders",
    response_model=OrderReceipt,
    status_code=201,
    responses={200: {"model": OrderReceipt, "description": "sent before: the same case"}},
)
def receive_order(
    session: DbSession,
    settings: AppSettings,
    response: Response,
    body: RawBody,
    timestamp: Timestamp = None,
    nonce: Nonce = None,
    signature: Signature = None,
) -> OrderReceipt:
    """The platform's webhook: a work order, signed (HMAC-SHA256 of timestamp, nonce and body
    with the shared secret). 201 with our case; 200 when the order was received before."""
    raw = _signed_json(session, settings, body, timestamp, nonce, signature)
    order, created = service.receive_order(session, settings, raw, via="webhook")
    if not created:
        response.status_code = 200
    return OrderReceipt(
        order_no=order.order_no,
        case_code=order.case_code,
        created=created,
        platform_deadline=order.platform_deadline,
    )


@public_router.post("/satisfaction", response_model=SatisfactionReceipt)
def receive_satisfaction(
    session: DbSession,
    settings: AppSettings,
    body: RawBody,
    timestamp: Timestamp = None,
    nonce: Nonce = None,
    signature: Signature = None,
) -> SatisfactionReceipt:
    """The platform's webhook: the caller's satisfaction with a closed order (once)."""
    raw = _signed_json(session, settings, body, timestamp, nonce, signature)
    order = service.receive_satisfaction(session, settings, raw)
    return SatisfactionReceipt(
        order_no=order.order_no, case_code=order.case_code, score=order.satisfaction or 0
    )


@router.post(
    "/cases/{code}/return",
    response_model=ReturnedOrder,
    dependencies=[Depends(require_roles("operator", "dispatcher"))],
)
def return_order(
    session: DbSession,
    settings: AppSettings,
    user: CurrentUser,
    code: Annotated[str, Path(max_length=40)],
    data: ReturnOrder,
) -> ReturnedOrder:
    """退单: give a wrongly assigned order back to the platform, with the reason, within the
    platform's window (409 after it, or for a case that is no work order)."""
    service.return_order(session, settings, code, user=user, reason=data.reason)
    return ReturnedOrder(case_code=code, state="rejected")


def outbox_read(row: HotlineOutbox) -> OutboxRead:
    return OutboxRead(
        id=row.id,
        order_no=row.order_no,
        case_code=row.case_code,
        status=row.status,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        sent_at=row.sent_at,
        last_error=row.last_error,
        body=row.body,
    )


@router.get("/outbox", response_model=list[OutboxRead], dependencies=admin)
def outbox(
    session: DbSession,
    state: Annotated[str | None, Query(pattern="^(pending|sent|dead)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OutboxRead]:
    """The status messages, newest first; `state=dead` is the dead-letter list."""
    return [outbox_read(r) for r in queries.outbox(session, state=state, limit=limit)]


@router.get("/outbox/{message_id}", response_model=OutboxRead, dependencies=admin)
def outbox_message(session: DbSession, message_id: RowId) -> OutboxRead:
    """One message: what is sent, how often it was tried, the last error."""
    return outbox_read(service.message(session, message_id))


@router.post("/outbox/{message_id}/resend", response_model=OutboxRead, dependencies=admin)
def resend(session: DbSession, message_id: RowId) -> OutboxRead:
    """Back in the queue, due now, its attempts counted afresh."""
    return outbox_read(service.resend(session, message_id))


def preference_read(row) -> PreferenceRead:
    return PreferenceRead(
        username=row.username,
        sms=row.sms or "",
        wecom=row.wecom or "",
        email=row.email or "",
        events=list(row.events or []),
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
    )


@router.get("/preferences/me", response_model=PreferenceRead)
def my_preferences(session: DbSession, user: CurrentUser) -> PreferenceRead:
    """Where and when the signed-in person is notified."""
    return preference_read(service.get_preference(session, user.username))


@router.put("/preferences/me", response_model=PreferenceRead)
def set_my_preferences(
    session: DbSession, user: CurrentUser, data: PreferenceUpdate
) -> PreferenceRead:
    """Change where and when one is notified (only the fields given)."""
    blank = {"sms": "", "wecom": "", "email": "", "events": []}
    values = {
        k: blank.get(k) if v is None else v for k, v in data.model_dump(exclude_unset=True).items()
    }
    return preference_read(service.set_preference(session, user.username, **values))
