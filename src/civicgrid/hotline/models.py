"""The 12345 bridge's tables: the work orders received (the platform's number unique, its
deadline beside ours), the nonces of signed requests seen, the status outbox, and people's
notification preferences."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.kit.db import Base, UTCDateTime, utcnow


class HotlineOrder(Base):
    __tablename__ = "hotline_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_no: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    case_code: Mapped[str] = mapped_column(String(40), index=True)
    channel: Mapped[str] = mapped_column(String(40), default="")
    platform_category: Mapped[str] = mapped_column(String(40), default="")
    # when the platform received the call, and the platform's own deadline (ours is the case's)
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    platform_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # [{"url", "state": pending | stored | refused | kept, "reason"}]; kept: not fetched
    attachments: Mapped[list] = mapped_column(default=list)
    attachments_pending: Mapped[bool] = mapped_column(default=False, index=True)
    via: Mapped[str] = mapped_column(String(10))  # webhook, poll
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    satisfaction: Mapped[int | None]


class HotlineNonce(Base):
    """A signed request's nonce, kept while its timestamp is within the window (replays)."""

    __tablename__ = "hotline_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class HotlineOutbox(Base):
    """A status message for the platform, written in the transaction of the case's event and
    sent by the `hotline-outbox` job: pending → sent, or dead after the last attempt."""

    __tablename__ = "hotline_outbox"
    __table_args__ = (Index("ix_hotline_outbox_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_no: Mapped[str] = mapped_column(String(64), index=True)
    case_code: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(30))  # ours (mapping.STATUSES)
    event_seq: Mapped[int | None]
    body: Mapped[dict] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending, sent, dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class NotifyPreference(Base):
    """A person's notification wishes (kit.notify.Preference): addresses per channel, the
    events wanted (empty: all) and quiet hours ("HH:MM", local time)."""

    __tablename__ = "notify_preferences"

    username: Mapped[str] = mapped_column(String(60), primary_key=True)
    sms: Mapped[str] = mapped_column(String(40), default="")
    wecom: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(120), default="")
    events: Mapped[list] = mapped_column(default=list)
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
