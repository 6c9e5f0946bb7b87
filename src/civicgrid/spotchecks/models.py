"""Spot checks (抽查系统): score sheets a district adds, the places checked, sampling plans with
their committed seeds, and the checks drawn from them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.kit.db import Base, UTCDateTime, utcnow
from civicgrid.media.columns import StoredImageColumns

SITE_KINDS = ("road", "grid")
CHECK_STATES = ("assigned", "in_progress", "done")


class SpotSheet(Base):
    """A district's own score sheet (门前三包, 公厕 ...): its definition as data (items,
    weights, scale, rules). The shipped sheets (CJJ/T 126, 以克论净) live in code."""

    __tablename__ = "spot_sheets"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    definition: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SpotSite(Base):
    """A road (or grid) that can be drawn: its grade, street, responsible unit and contractor
    (保洁公司, an org unit of kind contractor), and the point a case opens at."""

    __tablename__ = "spot_sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8), default="road")
    grade: Mapped[str] = mapped_column(String(16))
    street_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    contractor_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SpotPlan(Base):
    """A sampling plan for one period: strata as the draw's file gives them, the slots fixed
    when it was made, the commitment published at once and the seed kept until the period
    has ended."""

    __tablename__ = "spot_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    sheet: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(8))
    strata: Mapped[list] = mapped_column(JSON)
    slots: Mapped[list] = mapped_column(JSON)
    seed: Mapped[str] = mapped_column(String(64))
    commitment: Mapped[str] = mapped_column(String(64))
    period_end: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(60))


class SpotCheck(Base):
    """One drawn item: a site in a slot, and what the inspectors entered, saved as it goes."""

    __tablename__ = "spot_checks"
    __table_args__ = (UniqueConstraint("plan_id", "stratum", "site_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("spot_plans.id", ondelete="CASCADE"))
    stratum: Mapped[str] = mapped_column(String(60))
    site_code: Mapped[str] = mapped_column(String(40), index=True)
    slot: Mapped[str] = mapped_column(String(16))
    day: Mapped[dt.date] = mapped_column(index=True)
    draw_key: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12), default="assigned")
    arrived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    arrival_lon: Mapped[float | None] = mapped_column(Float)
    arrival_lat: Mapped[float | None] = mapped_column(Float)
    weather: Mapped[dict | None] = mapped_column(JSON)
    # visual: {inspector: {side: {item: score}}}; weight: {"points": [grams, ...]}
    entries: Mapped[dict] = mapped_column(JSON, default=dict)
    score: Mapped[float | None] = mapped_column(Float)
    g_m2: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(60))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SpotPhoto(StoredImageColumns, Base):
    """A photo of a check's item, checked and stored in the media store."""

    __tablename__ = "spot_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(
        ForeignKey("spot_checks.id", ondelete="CASCADE"), index=True
    )
    item: Mapped[str] = mapped_column(String(32))


class SpotFailure(Base):
    """A failed item of a check and the one case it opened (linked both ways: the case's
    extra names the check)."""

    __tablename__ = "spot_failures"
    __table_args__ = (UniqueConstraint("check_id", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("spot_checks.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(32))
    value: Mapped[float] = mapped_column(Float)
    case_code: Mapped[str] = mapped_column(String(40))
