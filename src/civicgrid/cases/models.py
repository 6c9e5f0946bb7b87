from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicgrid.kit import audit
from civicgrid.kit.db import Base, UTCDateTime, utcnow

KPI_INDEX_COLUMNS = (
    "registered_at",
    "last_event_at",
    "suspended_at",
    "revised_at",
    "reported_at",
    "dispatched_at",
    "closed_at",
    "deadline",
    "done_at",
    "first_done_at",
    "first_return_at",
    "first_fail_at",
    "first_extension_at",
    "first_rate_at",
    "score",
    "dispatch_wait_us",
    "street_code",
    "community_code",
    "grid_code",
    "unit_code",
    "category_code",
    "source",
    # the department table's complete cases (cases.queries.department_complete)
    "state",
    "last_done_at",
)

# ix_case_events_acts: an act's range (action, at), then what the post tables count by
ACTS_INDEX_COLUMNS = ("action", "at", "case_id", "actor", "role", "wait_key", "ref_at", "ref_by")
PLACES_INDEX_COLUMNS = ("id", "grid_code", "source")


class Case(Base):
    """A case (案件). The row is a projection of its events, kept for fast queries."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    source: Mapped[str] = mapped_column(String(16), index=True)
    category_kind: Mapped[str] = mapped_column(String(16))
    # indexed by ix_cases_category_lat (its first column)
    category_code: Mapped[str] = mapped_column(String(5))
    urgency: Mapped[str] = mapped_column(String(10), default="normal")
    lon: Mapped[float | None]
    lat: Mapped[float | None]
    grid_code: Mapped[str | None] = mapped_column(String(32), index=True)
    community_code: Mapped[str | None] = mapped_column(String(32), index=True)
    street_code: Mapped[str | None] = mapped_column(String(32), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")

    # --- projection of the events (cases.rows folds them with cases.workflow.apply) ---
    state: Mapped[str] = mapped_column(String(16), index=True)
    state_before_suspend: Mapped[str | None] = mapped_column(String(16))
    unit_code: Mapped[str | None] = mapped_column(String(32), index=True)
    deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    warn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    deadline_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    suspended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # indexed by ix_cases_reported_registered and ix_cases_kpi (their first columns)
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    registered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[int | None]
    extension_pending: Mapped[bool] = mapped_column(default=False)
    last_seq: Mapped[int] = mapped_column(default=0)
    last_event_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    first_done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    first_return_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    first_fail_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    first_extension_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    first_rate_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    dispatch_wait_us: Mapped[int | None] = mapped_column(BigInteger)
    revised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # --- who acted last at each step, for the assessment's limits (rows.apply keeps them;
    # each act's event takes its reference from them: see CaseEvent.ref_at) ---
    reported_by: Mapped[str | None] = mapped_column(String(60))
    last_accept_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_accept_by: Mapped[str | None] = mapped_column(String(60))
    last_intake_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # accept or return
    last_dispatch_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_dispatch_by: Mapped[str | None] = mapped_column(String(60))
    last_done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # --- not projected: set by the services that create or route the case ---
    limit_unit: Mapped[str | None] = mapped_column(String(16))
    calendar_missing: Mapped[bool] = mapped_column(default=False)
    queue_reason: Mapped[str | None] = mapped_column(String(40))
    duplicate_of: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # Covers the statistics' reads (stats.service.kpis): a month's population is one range
        # of this index, with every fact and group key in it, never the table.
        Index("ix_cases_kpi", *KPI_INDEX_COLUMNS),
        Index("ix_cases_reported_registered", "reported_at", "registered_at"),
        # possible duplicates: the same category near a point (citizen.service)
        Index("ix_cases_category_lat", "category_code", "lat"),
        # a case's grid and source by its id, for joins from a month of events (the post
        # tables, cases.queries.post_acts): a narrow B-tree instead of the wide rows
        Index("ix_cases_places", *PLACES_INDEX_COLUMNS),
    )

    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.seq", lazy="raise"
    )


class CaseEvent(Base):
    """One step in a case's history. Append-only: never updated, never deleted."""

    __tablename__ = "case_events"
    # (case_id, seq) serves every read of a history; ix_case_events_acts the assessment's month
    # of acts (stats.assessment): one range per action, with every column its counts read, so
    # that they never touch the table.
    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),
        Index("ix_case_events_acts", *ACTS_INDEX_COLUMNS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    seq: Mapped[int]
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(60))
    role: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    # the note is shown to the citizen and in Open311 (case-history-format.md: `public`)
    public: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[dict] = mapped_column(default=dict)
    # The act this event answers, for the assessment (reference/assessment.md): an accept the
    # report, a dispatch the latest accept or return, a check (verify_*) the latest report_done,
    # a return the latest dispatch (made wrong by it), a reject the latest accept. `ref_by`: who
    # made that act (`by`); `wait_key`: 2 × the working microseconds from it to this event, + 1
    # when this event lies outside working time or at a block's start (rows.wait_key), so that
    # "within N working minutes" is wait_key <= 2 × N × 60 000 000, to the microsecond.
    ref_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ref_by: Mapped[str | None] = mapped_column(String(60))
    wait_key: Mapped[int | None] = mapped_column(BigInteger)

    case: Mapped[Case] = relationship(back_populates="events", lazy="raise")


class CaseContact(Base):
    """The reporter's contact, kept apart from the case and masked for most roles."""

    __tablename__ = "case_contacts"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(60), default="")
    phone: Mapped[str] = mapped_column(String(40), default="", index=True)
    email: Mapped[str] = mapped_column(String(120), default="")


class DispatchRule(Base):
    """Where a category goes: `match` is a 5-digit code, a 2-digit major class or `*`.

    `target` is `street` (the street office of the place), `community`, or `unit` with
    `unit_code` naming a department; the most specific match wins, then the lowest priority.
    """

    __tablename__ = "dispatch_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    match: Mapped[str] = mapped_column(String(8), index=True)
    target: Mapped[str] = mapped_column(String(16))
    unit_code: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(default=100)
    note: Mapped[str] = mapped_column(String(200), default="")


class CaseCounter(Base):
    """The last sequence number of case codes given out on a day (XF20261125-000123)."""

    __tablename__ = "case_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class CalendarDay(Base):
    """An administrator's entry in the working calendar: overrides chinese-calendar for a day."""

    __tablename__ = "calendar_days"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool]
    note: Mapped[str] = mapped_column(String(100), default="")


class CalendarYear(Base):
    """A year an administrator has entered in full (so deadlines in it are not flagged)."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True)
    note: Mapped[str] = mapped_column(String(100), default="")


# admin writes are audited (kit.audit)
for _model in (DispatchRule, CalendarDay, CalendarYear):
    audit.register(_model)
