"""Work logs (城管日志): a log per person per day, its entries, their photos, and the log's
history (submitted, returned, approved, amended: who, when, what they said)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicgrid.kit.db import Base, UTCDateTime, utcnow
from civicgrid.media.columns import StoredImageColumns

STATES = ("draft", "submitted", "returned", "approved")
# Where an entry came from: the person (own), a case action, the tracked route; later sources
# (spot checks, snow tasks) add their own names.
SOURCES = ("own", "case", "route")


class WorkLog(Base):
    """One person's log of one day. The unit is the person's unit when the log was begun: its
    leader reviews it."""

    __tablename__ = "worklogs"
    __table_args__ = (UniqueConstraint("person_id", "day", name="uq_worklogs_person_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default="draft")
    # The tracked route's length (m) when the draft was written; None without a tracker.
    distance_m: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(60))
    review_comment: Mapped[str] = mapped_column(Text, default="")

    entries: Mapped[list[WorkLogEntry]] = relationship(
        back_populates="log", order_by="WorkLogEntry.seq", lazy="selectin"
    )


class WorkLogEntry(Base):
    """A line of a log: time, place, words, photos and a linked case. Before the first
    submission the person edits and removes lines; after it, lines are only added, each an
    amendment (with who and when), which may name the line it corrects."""

    __tablename__ = "worklog_entries"
    __table_args__ = (UniqueConstraint("log_id", "seq", name="uq_worklog_entries_log_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("worklogs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text, default="")
    case_code: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(16), default="own")
    # The source's own key ("event:123"), so that writing the draft again adds only new lines.
    ref: Mapped[str | None] = mapped_column(String(60))
    amendment: Mapped[bool] = mapped_column(default=False)
    corrects: Mapped[int | None] = mapped_column(Integer)  # the seq of the line corrected
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(60))
    # When the author last changed the line in the draft: a source no longer refreshes it.
    edited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    log: Mapped[WorkLog] = relationship(back_populates="entries", lazy="raise")
    photos: Mapped[list[WorkLogPhoto]] = relationship(
        order_by="WorkLogPhoto.id", lazy="selectin", cascade="all, delete-orphan"
    )


class WorkLogPhoto(StoredImageColumns, Base):
    """A photo of an entry: checked and re-encoded by media, kept in the media store."""

    __tablename__ = "worklog_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("worklog_entries.id", ondelete="CASCADE"), index=True
    )


class WorkLogEvent(Base):
    """A step of a log's history: submit, return, approve, amend. Append-only."""

    __tablename__ = "worklog_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("worklogs.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(12))
    by: Mapped[str] = mapped_column(String(60))
    comment: Mapped[str] = mapped_column(Text, default="")
