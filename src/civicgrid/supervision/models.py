"""The escalation rules (data an administrator edits) and the escalations done (督办单)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.kit import audit
from civicgrid.kit.db import Base, UTCDateTime, utcnow

# What a rule does: remind the handlers of the case's unit; 督办 to the unit's leaders (a
# numbered 督办单); 督办 to the district's leaders.
STEPS = ("remind", "unit_leader", "district_leader")
LIGHTS = ("yellow", "red")


class EscalationRule(Base):
    """One step of the escalation: when a case's light is `light` (yellow: past its warning
    time; red: past its deadline) and `after_hours` working hours have passed since (since the
    deadline for red, since the warning for yellow), the step is taken once per deadline."""

    __tablename__ = "escalation_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    step: Mapped[str] = mapped_column(String(20), unique=True)
    light: Mapped[str] = mapped_column(String(8))
    after_hours: Mapped[float] = mapped_column(Float, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(60))


class Escalation(Base):
    """A step taken on a case: a reminder, or a 督办 with its printable, numbered 督办单.
    The case's own history has the same step as an `urge` event (event_seq)."""

    __tablename__ = "escalations"
    __table_args__ = (
        UniqueConstraint("case_id", "step", "deadline", name="uq_escalations_case_step_deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    case_id: Mapped[int] = mapped_column(Integer, index=True)
    case_code: Mapped[str] = mapped_column(String(32), index=True)
    unit_code: Mapped[str | None] = mapped_column(String(32), index=True)
    step: Mapped[str] = mapped_column(String(20))
    light: Mapped[str] = mapped_column(String(8))
    deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    targets: Mapped[list] = mapped_column(JSON, default=list)
    event_seq: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(400), default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class PushSubscription(Base):
    """A browser of the handler app subscribed to Web Push (kit.webpush): new cases of its
    user's unit reach it while the app is closed. One row per push endpoint (a browser signed
    in as another user takes it over)."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(120))
    auth: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(400))


audit.register(EscalationRule)
