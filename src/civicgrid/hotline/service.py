"""The 12345 bridge: work orders in (a signed webhook, a poller), status out (an outbox written
with the case's event, sent by a job with retries), and the people's notifications.

Inbound: `verify` checks a request's HMAC signature, age and nonce; `receive_order` maps the
platform's order (mapping.py) onto a case with source `hotline` through citizen's one intake
path, once per platform number. Its deadline is kept beside ours, and a dispatch's deadline is
the earlier of the two (cases.service.DEADLINE_CAPS).

Outbound: a listener of the event bus (kit.events.before_commit) writes an outbox row for each
case event the platform hears of, in the event's own transaction; the `hotline-outbox` job
posts them in order, each order's statuses one after the other, backing off on failure and
dead-lettering after the last attempt (resend from the admin page).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import time
from typing import Any

import httpx
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civicgrid.cases import service as cases_service
from civicgrid.cases.calendar import WorkCalendar
from civicgrid.cases.policy import Actor, actor_for
from civicgrid.categories import service as cat_service
from civicgrid.citizen import service as citizen_service
from civicgrid.config import Settings, get_settings
from civicgrid.hotline import mapping, queries
from civicgrid.hotline.exceptions import (
    BadOrder,
    BadSignature,
    MessageNotFound,
    NotConfigured,
    NotHotline,
    OrderNotFound,
    ReturnWindowClosed,
)
from civicgrid.hotline.models import HotlineNonce, HotlineOrder, HotlineOutbox, NotifyPreference
from civicgrid.kit import events, fetch, notify, scheduler
from civicgrid.kit.db import utcnow
from civicgrid.kit.errors import AppError
from civicgrid.kit.timefmt import local_zone
from civicgrid.media import service as media_service

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Hotline-Timestamp"
NONCE_HEADER = "X-Hotline-Nonce"
SIGNATURE_HEADER = "X-Hotline-Signature"


# --- signatures ------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    """hex HMAC-SHA256 of "<timestamp>\\n<nonce>\\n<body>" with the shared secret."""
    message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The three headers of a signed request (both directions sign the same way)."""
    timestamp = str(int(now if now is not None else time.time()))
    nonce = secrets.token_hex(16)
    return {
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: sign(secret, timestamp, nonce, body),
    }


def verify(
    session: Session,
    settings: Settings,
    *,
    timestamp: str | None,
    nonce: str | None,
    signature: str | None,
    body: bytes,
    now: dt.datetime | None = None,
) -> None:
    """A request from the platform, or BadSignature (401): the signature must match, the
    timestamp be within the window either way, and the nonce unseen (it is recorded in the
    caller's transaction, so a refused request leaves none behind)."""
    if not settings.hotline_secret:
        raise NotConfigured()
    if not (timestamp and nonce and signature):
        raise BadSignature(
            f"缺少签名头 {TIMESTAMP_HEADER}、{NONCE_HEADER}、{SIGNATURE_HEADER}",
            f"the headers {TIMESTAMP_HEADER}, {NONCE_HEADER} and {SIGNATURE_HEADER} are required",
        )
    if not (8 <= len(nonce) <= 64) or not nonce.isascii():
        raise BadSignature("nonce 须为 8–64 个 ASCII 字符", "the nonce is 8–64 ASCII characters")
    expected = sign(settings.hotline_secret, timestamp, nonce, body)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise BadSignature("签名不符", "the signature does not match")
    now = now or utcnow()
    try:
        sent = dt.datetime.fromtimestamp(int(timestamp), dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise BadSignature("时间戳无效", "the timestamp is not a Unix time in seconds") from None
    window = dt.timedelta(seconds=settings.hotline_signature_window_seconds)
    if abs(now - sent) > window:
        raise BadSignature(
            f"请求已过期 (时间戳与服务器相差超过 {window.seconds} 秒)",
            f"the request is stale: its timestamp is more than {window.seconds} s off",
        )
    try:
        with session.begin_nested():
            session.add(HotlineNonce(nonce=nonce, seen_at=now))
            session.flush()
    except IntegrityError:
        raise BadSignature(
            "重复的请求 (nonce 已用过)", "a replayed request: the nonce was used"
        ) from None


# --- inbound -----------------------------------------------------------------------------------


def receive_order(
    session: Session, settings: Settings, raw: Any, *, via: str = "webhook"
) -> tuple[HotlineOrder, bool]:
    """The platform's work order as a case (source hotline), once per order number: an order
    sent again is the same case (True: made now). Its deadline is kept on the order and caps
    our dispatch deadline. Refused with BadOrder (400) naming the platform's field when the
    mapping cannot read it, an unknown category included."""
    m = mapping.current(settings)
    order = mapping.map_order(raw, m, set(cat_service.category_codes(session)))
    known = queries.order_by_no(session, order.order_no)
    if known is not None:
        if order.deadline is not None and order.deadline != known.platform_deadline:
            known.platform_deadline = order.deadline  # the platform moved its own deadline
            session.flush()
        return known, False
    if order.category is None:
        raise BadOrder(
            m.fields["category"],
            f"未知类别 {order.platform_category}, 请在对接映射中登记",
            f"unknown category {order.platform_category}; add it to the mapping",
        )
    has_place = order.lon is not None and order.lat is not None
    fetching = bool(attachment_hosts(settings))
    try:
        with session.begin_nested():
            prepared = citizen_service.prepare(
                session,
                settings,
                category=order.category,
                source="hotline",
                lon=order.lon if has_place else None,
                lat=order.lat if has_place else None,
                datum=order.datum,
                address=order.address,
                description=order.content,
                phone=order.caller_phone,
                name=order.caller_name,
                urgency=order.urgency,
                actor=Actor.system(),
                extra={
                    "hotline": {
                        "order_no": order.order_no,
                        "channel": order.channel,
                        "platform_category": order.platform_category,
                        "platform_deadline": _iso(order.deadline),
                        "received_at": _iso(order.received_at),
                    }
                },
            )
            done = citizen_service.write(session, settings, prepared, find_duplicates=False)
            row = HotlineOrder(
                order_no=order.order_no,
                case_id=done.case.id,
                case_code=done.case.code,
                channel=order.channel,
                platform_category=order.platform_category,
                received_at=order.received_at,
                platform_deadline=order.deadline,
                attachments=[
                    {"url": url, "state": "pending" if fetching else "kept"}
                    for url in order.attachments
                ],
                attachments_pending=fetching and bool(order.attachments),
                via=via,
            )
            session.add(row)
            session.flush()
    except IntegrityError:
        # the same order at the same moment through the other door: it is one case
        known = queries.order_by_no(session, order.order_no)
        if known is None:
            raise
        return known, False
    notify_later(
        session,
        "hotline_order",
        {
            "order_no": row.order_no,
            "case": row.case_code,
            "content": order.content[:60],
            "deadline": _local(row.platform_deadline),
        },
    )
    return row, True


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _local(moment: dt.datetime | None) -> str:
    return moment.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M") if moment else ""


def _platform_cap(session: Session, case) -> dt.datetime | None:
    if getattr(case, "source", None) != "hotline":
        return None
    return queries.platform_deadline(session, getattr(case, "id", None))


cases_service.DEADLINE_CAPS.append(_platform_cap)


def receive_satisfaction(session: Session, settings: Settings, raw: Any) -> HotlineOrder:
    """The caller's satisfaction as the platform sends it back: the case's rating (the
    citizen's own word, once; as citizen.service.rate)."""
    m = mapping.current(settings).satisfaction
    if not isinstance(raw, dict):
        raise BadOrder("(body)", "应为 JSON 对象", "a JSON object is expected")
    order_no = str(mapping.pick(raw, m.get("order_no", "orderNo")) or "")
    order = queries.order_by_no(session, order_no)
    if order is None:
        raise OrderNotFound(order_no or "(none)")
    value = mapping.pick(raw, m.get("score", "satisfaction"))
    score = m.get("scores", {}).get(str(value))
    if score is None:
        raise BadOrder(
            m.get("score", "satisfaction"),
            f"未知满意度 {value}",
            f"unknown satisfaction {value}; the mapping knows {sorted(m.get('scores', {}))}",
        )
    comment = str(mapping.pick(raw, m.get("comment", "comment")) or "")
    case = cases_service.get_case(session, order.case_code)
    citizen_service.rate(session, settings, case, score=int(score), comment=comment)
    order.satisfaction = int(score)
    session.flush()
    return order


def poll(session: Session, settings: Settings, *, client: httpx.Client | None = None) -> dict:
    """Pull the platform's new orders (for platforms without a webhook) and receive each; an
    order the mapping refuses is logged and skipped, the others still come in."""
    if not settings.hotline_poll_url:
        return {"off": "no CIVICGRID_HOTLINE_POLL_URL"}
    headers = signed_headers(settings.hotline_secret, b"") if settings.hotline_secret else {}
    http = client or httpx.Client(timeout=settings.hotline_timeout_seconds)
    try:
        answer = http.get(settings.hotline_poll_url, headers=headers)
        answer.raise_for_status()
        data = answer.json()
    finally:
        if client is None:
            http.close()
    m = mapping.current(settings)
    orders = mapping.pick(data, m.orders_path) if isinstance(data, dict) else data
    if not isinstance(orders, list):
        raise ValueError(f"the platform's answer has no list at {m.orders_path!r}")
    made = known = refused = 0
    for raw in orders:
        try:
            with session.begin_nested():
                _, created = receive_order(session, settings, raw, via="poll")
        except Exception as exc:  # noqa: BLE001 - one bad order must not stop the others
            log.warning("hotline poll: order refused: %s", exc)
            refused += 1
            continue
        made += created
        known += not created
    return {"new": made, "known": known, "refused": refused}


def _poll_job(session: Session, settings: Settings) -> dict:
    return poll(session, settings)


POLL_JOB = scheduler.register(
    scheduler.Job(
        "hotline-poll",
        dt.timedelta(seconds=get_settings().hotline_poll_seconds),
        _poll_job,
        description="pull new work orders from the 12345 platform (when it has a pull API)",
    )
)


# --- attachments --------------------------------------------------------------------------------


def attachment_hosts(settings: Settings) -> tuple[str, ...]:
    return tuple(
        h.strip().lower() for h in settings.hotline_attachment_hosts.split(",") if h.strip()
    )


def fetch_attachments(session: Session, settings: Settings, *, limit: int = 20) -> dict:
    """Fetch the pending attachments of orders (allowed hosts only, kit.fetch's guarded fetch)
    and add the photos among them to their cases as report photos; what is not a photo, or not
    fetched, is marked refused with the reason (the URL stays on the order). Commits after
    each order, so that no lock is held while a file is fetched."""
    policy = fetch.FetchPolicy(
        hosts=attachment_hosts(settings),
        allow_private=settings.hotline_attachment_private,
        max_bytes=settings.photo_max_bytes,
        timeout=settings.hotline_timeout_seconds,
    )
    ids = queries.orders_with_pending_attachments(session, limit)
    session.commit()
    stored = refused = 0
    for order_id in ids:
        order = session.get(HotlineOrder, order_id)
        items, case_id = [dict(a) for a in order.attachments], order.case_id
        session.commit()
        images = []
        for n, item in enumerate(items):
            if item.get("state") != "pending":
                continue
            try:
                data = fetch.fetch(item["url"], policy)
                [checked] = media_service.check_images([(f"attachment-{n}", data)], settings)
                images.append(media_service.store(settings, checked))
                item["state"] = "stored"
                stored += 1
            except (fetch.FetchRefused, AppError) as exc:
                item["state"], item["reason"] = "refused", str(exc)[:300]
                refused += 1
        order = session.get(HotlineOrder, order_id)
        media_service.insert_stored(
            session,
            [{**i.row(), "case_id": case_id, "event_id": None, "stage": "report"} for i in images],
        )
        order.attachments, order.attachments_pending = items, False
        session.commit()
    return {"stored": stored, "refused": refused}


def _attachments_job(session: Session, settings: Settings) -> dict:
    if not attachment_hosts(settings):
        return {"off": "no CIVICGRID_HOTLINE_ATTACHMENT_HOSTS"}
    return fetch_attachments(session, settings)


ATTACHMENTS_JOB = scheduler.register(
    scheduler.Job(
        "hotline-attachments",
        dt.timedelta(minutes=1),
        _attachments_job,
        description="fetch the 12345 orders' attachments as their cases' photos",
    )
)


# --- returning an order (退单) -----------------------------------------------------------------


def return_window_end(session: Session, settings: Settings, order: HotlineOrder) -> dt.datetime:
    """The end of the platform's window for returning the order: its working days (the
    mapping's) from when the platform received it (or we did)."""
    days = mapping.current(settings).return_window_working_days
    start = order.received_at or order.created_at
    return WorkCalendar.load(session, settings).add(start, days, "working_days").at


def return_order(session: Session, settings: Settings, code: str, *, user, reason: str):
    """Give a wrongly assigned order back to the platform (退单): the case is rejected with the
    reason, and the platform hears it. Refused (409) past the platform's window."""
    order = queries.order_by_case_code(session, code)
    if order is None:
        raise NotHotline(code)
    end = return_window_end(session, settings, order)
    if utcnow() > end:
        raise ReturnWindowClosed(_local(end))
    case = cases_service.get_case(session, code)
    return cases_service.transition(
        session, settings, case, "reject", actor=actor_for(session, user, "reject"), note=reason
    )


# --- outbound: the outbox --------------------------------------------------------------------

STATUS_OF_ACTION = {
    "accept": "accepted",
    "reject": "returned",
    "extend_request": "extension_requested",
    "extend_approve": "extension_approved",
    "extend_refuse": "extension_refused",
    "report_done": "handled",
    "verify_pass": "closed",
}


def _on_change(session: Session, message: dict) -> None:
    """Every case event the platform hears of gets its outbox row, in the event's transaction.
    Other sources' cases are passed over unread (every change names its case's source)."""
    if message.get("type") != "case" or message.get("source") != "hotline":
        return
    action = message.get("action")
    if action not in STATUS_OF_ACTION:
        return
    order = queries.order_by_case_code(session, message.get("code"))
    if order is not None:
        write_status(session, get_settings(), order, action)


events.before_commit(_on_change)


def write_status(
    session: Session, settings: Settings, order: HotlineOrder, action: str
) -> HotlineOutbox:
    """The outbox row of the case's latest `action` event: the platform's status code and what
    goes with it (a return's reason; the time asked or granted; the public reply and the after
    photos of a handled order). A return past the platform's window is written dead at once
    (the platform would refuse it): the admin page shows it."""
    status = STATUS_OF_ACTION[action]
    m = mapping.current(settings)
    case = cases_service.get_case(session, order.case_code)
    event = next(e for e in reversed(cases_service.events_of(session, case)) if e.action == action)
    body: dict[str, Any] = {
        "orderNo": order.order_no,
        "status": m.statuses[status],
        "caseCode": case.code,
        "at": event.at.isoformat(),
        "seq": event.seq,
    }
    payload = event.payload or {}
    if status == "returned":
        body["reason"] = event.note
    elif status == "extension_requested":
        body["until"] = payload.get("until")
        body["reason"] = event.note
    elif status == "extension_approved":
        body["deadline"] = payload.get("deadline")
    elif status == "extension_refused":
        body["reason"] = event.note
    elif status == "handled":
        body["reply"] = event.note
        base = (settings.public_base_url or "").rstrip("/")
        body["photos"] = [
            f"{base}/api/v1/cases/{case.code}/photos/{p.id}"
            for p in media_service.photos_of(session, case.id)
            if p.event_id == event.id
        ]
    elif status == "accepted":
        body["unit"] = case.unit_code
    row = HotlineOutbox(
        order_no=order.order_no,
        case_code=case.code,
        status=status,
        event_seq=event.seq,
        body=json.loads(json.dumps(body, default=str)),
        next_attempt_at=event.at,
    )
    if status == "returned" and event.at > return_window_end(session, settings, order):
        row.state, row.last_error = "dead", "past the platform's return window (退单期限已过)"
    session.add(row)
    session.flush()
    return row


def backoff(settings: Settings, attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failure: doubling from the base, capped."""
    seconds = settings.hotline_backoff_seconds * 2 ** max(0, attempts - 1)
    return dt.timedelta(seconds=min(seconds, settings.hotline_backoff_max_seconds))


def post_status(settings: Settings, body: dict, *, client: httpx.Client) -> None:
    """Post one status, signed; raises httpx.HTTPError (or ValueError for an answer that is not
    2xx) when the platform did not take it."""
    data = json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if settings.hotline_secret:
        headers.update(signed_headers(settings.hotline_secret, data))
    answer = client.post(settings.hotline_status_url, content=data, headers=headers)
    if answer.status_code // 100 != 2:
        raise ValueError(f"HTTP {answer.status_code}: {answer.text[:300]}")


def send_due(
    session: Session,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    client: httpx.Client | None = None,
) -> dict:
    """Send what is due, each order's messages in order; commits after each message (the job
    owns its transaction) so that no lock is held while the platform is waited for. A failure
    is tried again after `backoff`; after hotline_max_attempts the message is dead."""
    if not settings.hotline_status_url:
        return {"off": "no CIVICGRID_HOTLINE_STATUS_URL"}
    now = now or utcnow()
    ids = queries.due_ids(session, now)
    session.commit()
    sent = failed = dead = 0
    http = client or httpx.Client(timeout=settings.hotline_timeout_seconds)
    try:
        for message_id in ids:
            row = session.get(HotlineOutbox, message_id)
            body = dict(row.body)
            session.commit()  # nothing held while the platform answers
            try:
                post_status(settings, body, client=http)
                error = None
            except (httpx.HTTPError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:2000]
            row = session.get(HotlineOutbox, message_id)
            row.attempts += 1
            if error is None:
                row.state, row.sent_at, row.last_error = "sent", utcnow(), None
                sent += 1
            else:
                row.last_error = error
                if row.attempts >= settings.hotline_max_attempts:
                    row.state = "dead"
                    dead += 1
                    notify_later(
                        session,
                        "outbox_dead",
                        {"order_no": row.order_no, "status": row.status, "error": error[:200]},
                    )
                else:
                    row.next_attempt_at = now + backoff(settings, row.attempts)
                    failed += 1
            session.commit()
    finally:
        if client is None:
            http.close()
    return {"sent": sent, "retry": failed, "dead": dead}


def _outbox_job(session: Session, settings: Settings) -> dict:
    # nonces older than twice the window can no longer be replayed (the timestamp is refused)
    window = dt.timedelta(seconds=2 * settings.hotline_signature_window_seconds)
    session.execute(delete(HotlineNonce).where(HotlineNonce.seen_at < utcnow() - window))
    session.commit()
    return send_due(session, settings)


OUTBOX_JOB = scheduler.register(
    scheduler.Job(
        "hotline-outbox",
        dt.timedelta(seconds=get_settings().hotline_outbox_seconds),
        _outbox_job,
        description="send the 12345 platform its orders' statuses (retries, dead letters)",
    )
)


def message(session: Session, message_id: int) -> HotlineOutbox:
    row = session.get(HotlineOutbox, message_id)
    if row is None:
        raise MessageNotFound(message_id)
    return row


def resend(session: Session, message_id: int) -> HotlineOutbox:
    """A dead (or pending) message back in the queue, due now, its attempts counted afresh.
    A sent one is sent again too, when an administrator asks (the platform lost it)."""
    row = message(session, message_id)
    row.state, row.attempts, row.next_attempt_at = "pending", 0, utcnow()
    session.flush()
    return row


# --- notifications -----------------------------------------------------------------------------


def _clock(value: str | None) -> dt.time | None:
    return dt.time.fromisoformat(value) if value else None


def preference_of(row: NotifyPreference) -> notify.Preference:
    return notify.Preference(
        addresses={"sms": row.sms, "wecom": row.wecom, "email": row.email},
        events=frozenset(row.events) if row.events else None,
        quiet_start=_clock(row.quiet_start),
        quiet_end=_clock(row.quiet_end),
    )


def set_preference(session: Session, username: str, **values) -> NotifyPreference:
    """A person's notification wishes, created or changed (only the values given)."""
    row = session.get(NotifyPreference, username)
    if row is None:
        row = NotifyPreference(username=username, sms="", wecom="", email="", events=[])
        session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    session.flush()
    return row


def get_preference(session: Session, username: str) -> NotifyPreference:
    return session.get(NotifyPreference, username) or NotifyPreference(
        username=username, sms="", wecom="", email="", events=[]
    )


def notify_later(session: Session, event: str, data: dict) -> None:
    """Tell everyone who wants `event`, once the transaction commits (never for a write that
    is rolled back). Who they are is read now, in the transaction."""
    wanted = [preference_of(r) for r in queries.preferences(session)]
    wanted = [p for p in wanted if p.wants(event)]
    if wanted:
        session.info.setdefault("hotline_notify", []).append((event, data, wanted))


def deliver(event: str, data: dict, people: list[notify.Preference], *, now=None) -> list:
    """Send one event to these people now, through the providers the settings choose."""
    notifier = notify.Notifier(notify.providers(get_settings()), local_zone())
    now = now or utcnow()
    return [d for p in people for d in notifier.notify(p, event, data, now=now)]


def _after_commit(session: Session) -> None:
    for event, data, people in session.info.pop("hotline_notify", []):
        try:
            deliver(event, data, people)
        except Exception:  # noqa: BLE001 - a notification must never fail a committed write
            log.exception("notification %s failed", event)


def _after_rollback(session: Session, _previous) -> None:
    session.info.pop("hotline_notify", None)


def _install() -> None:
    from sqlalchemy import event as sa_event

    sa_event.listen(Session, "after_commit", _after_commit)
    sa_event.listen(Session, "after_soft_rollback", _after_rollback)


_install()
