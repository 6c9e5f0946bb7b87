"""What the header and other domains read of the notices, as named queries."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from civicgrid.notices.models import Notice, NoticeRecipient


def shown(now: dt.datetime) -> ColumnElement[bool]:
    """A notice readers see now: published, its publication time reached, not yet expired."""
    return and_(
        Notice.state == "published",
        Notice.published_at <= now,
        or_(Notice.expires_at.is_(None), Notice.expires_at > now),
    )


def unread_count(session: Session, *, user_id: int, now: dt.datetime) -> int:
    """How many internal notices shown now are for this user and not yet read by them."""
    query = (
        select(func.count())
        .select_from(NoticeRecipient)
        .join(Notice, Notice.id == NoticeRecipient.notice_id)
        .where(NoticeRecipient.user_id == user_id, NoticeRecipient.read_at.is_(None), shown(now))
    )
    return session.scalar(query) or 0
