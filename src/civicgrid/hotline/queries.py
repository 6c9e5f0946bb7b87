"""Reads of the 12345 bridge's tables (other domains come here, never to the models)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.hotline.models import HotlineOrder, HotlineOutbox, NotifyPreference


def order_by_no(session: Session, order_no: str) -> HotlineOrder | None:
    return session.scalar(select(HotlineOrder).where(HotlineOrder.order_no == order_no))


def order_by_case_code(session: Session, code: str) -> HotlineOrder | None:
    return session.scalar(select(HotlineOrder).where(HotlineOrder.case_code == code))


def platform_deadline(session: Session, case_id: int | None) -> dt.datetime | None:
    """The platform's deadline of the case's work order, if it is one and has one."""
    if case_id is None:
        return None
    return session.scalar(
        select(HotlineOrder.platform_deadline).where(HotlineOrder.case_id == case_id)
    )


def outbox(session: Session, *, state: str | None = None, limit: int = 100) -> list[HotlineOutbox]:
    query = select(HotlineOutbox).order_by(HotlineOutbox.id.desc()).limit(limit)
    if state:
        query = query.where(HotlineOutbox.state == state)
    return list(session.scalars(query))


def outbox_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(HotlineOutbox.state, func.count()).group_by(HotlineOutbox.state)
    ).all()
    return {state: n for state, n in rows}


def due_ids(session: Session, now: dt.datetime, limit: int = 200) -> list[int]:
    """Pending messages due now, each the first unsent one of its order (a platform reads an
    order's statuses in the order they happened, so a later one waits for the earlier)."""
    first = (
        select(func.min(HotlineOutbox.id))
        .where(HotlineOutbox.state == "pending")
        .group_by(HotlineOutbox.order_no)
    )
    return list(
        session.scalars(
            select(HotlineOutbox.id)
            .where(
                HotlineOutbox.id.in_(first),
                HotlineOutbox.next_attempt_at <= now,
            )
            .order_by(HotlineOutbox.id)
            .limit(limit)
        )
    )


def preferences(session: Session) -> list[NotifyPreference]:
    return list(session.scalars(select(NotifyPreference).order_by(NotifyPreference.username)))


def orders_with_pending_attachments(session: Session, limit: int) -> list[int]:
    return list(
        session.scalars(
            select(HotlineOrder.id)
            .where(HotlineOrder.attachments_pending.is_(True))
            .order_by(HotlineOrder.id)
            .limit(limit)
        )
    )
