"""Snow season (雪场管理): the deadline table, snow events, road sections for snow, dumping
fields, gate tickets, surveys, the trips found in tracks, and what was decided once (cases,
warnings). shared/reference/snow.md."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.kit.db import Base, UTCDateTime, utcnow

GRADES = ("小雪", "中雪", "大雪", "暴雪", "大暴雪", "特大暴雪")  # GB/T 28592
CLASSES = ("A", "B", "C")
TASKS = ("clear", "haul")  # 清雪, 清运
FIELD_KINDS = ("clean", "dirty", "both")  # 净雪, 污雪, 两者
FIELD_STATES = ("open", "closed", "full")


class SnowLimit(Base):
    """One row of the deadline table: natural hours from 雪停 to clear and to haul a street of
    a class after snow of a grade (seeded from snow-limits.csv, editable)."""

    __tablename__ = "snow_limits"

    grade: Mapped[str] = mapped_column(String(8), primary_key=True)
    street_class: Mapped[str] = mapped_column(String(1), primary_key=True)
    clear_hours: Mapped[float] = mapped_column(Float)
    haul_hours: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(60))


class SnowEvent(Base):
    """A snowfall declared by a dispatcher or leader."""

    __tablename__ = "snow_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # 雪停: the deadlines run from it; None while it still snows.
    snow_end_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    grade: Mapped[str] = mapped_column(String(8))
    precipitation_mm: Mapped[float | None] = mapped_column(Float)  # 24 h; None: grade by hand
    # the snow's depth on the roads (m): a section's snow volume = area × depth (haul by trips)
    depth_m: Mapped[float] = mapped_column(Float, default=0.0)
    forecast_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    gather_notice_id: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SnowSection(Base):
    """A road section for snow work: a line (WGS-84 lon/lat), its class, its unit."""

    __tablename__ = "snow_sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    street_class: Mapped[str] = mapped_column(String(1))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    coordinates: Mapped[list] = mapped_column(JSON)
    length_m: Mapped[float] = mapped_column(Float)
    area_m2: Mapped[float] = mapped_column(Float)
    open_first: Mapped[bool] = mapped_column(Boolean, default=False)  # 先通再净
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SnowField(Base):
    """A snow dumping field (卸雪场): a polygon ring (lon/lat), capacity and kind. A field
    with event_id is temporary, opened for that event."""

    __tablename__ = "snow_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    polygon: Mapped[list] = mapped_column(JSON)
    capacity_m3: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(8), default="clean")
    state: Mapped[str] = mapped_column(String(8), default="open")
    hours: Mapped[str] = mapped_column(String(40), default="")
    lanes: Mapped[int] = mapped_column(Integer, default=1)
    initial_fill_m3: Mapped[float] = mapped_column(Float, default=0.0)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("snow_events.id"))
    # the highest warning level (0, 80, 95) given since the fill last fell below it
    warned_level: Mapped[int] = mapped_column(Integer, default=0)


class EventSection(Base):
    """A section in an event: 污雪 (melting agent used), the handlers' reports of its tasks,
    and the case opened when a task went past its deadline."""

    __tablename__ = "snow_event_sections"

    event_id: Mapped[int] = mapped_column(ForeignKey("snow_events.id"), primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("snow_sections.id"), primary_key=True)
    dirty: Mapped[bool] = mapped_column(Boolean, default=False)
    clear_case: Mapped[str | None] = mapped_column(String(40))
    haul_case: Mapped[str | None] = mapped_column(String(40))


class SectionReport(Base):
    """A handler's report of a section's task (cleared, hauled) with a photo and checks."""

    __tablename__ = "snow_section_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("snow_events.id"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("snow_sections.id"))
    task: Mapped[str] = mapped_column(String(8))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    checks: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    photo_key: Mapped[str] = mapped_column(String(120))
    thumb_key: Mapped[str] = mapped_column(String(120))
    by: Mapped[str] = mapped_column(String(60))


class FieldSurvey(Base):
    """A manual survey of a field's fill (m³)."""

    __tablename__ = "snow_field_surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("snow_fields.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    fill_m3: Mapped[float] = mapped_column(Float)
    by: Mapped[str] = mapped_column(String(60))


class GateTicket(Base):
    """A gate ticket (运雪号牌) entered at a field's gate: plate, entry time, volume."""

    __tablename__ = "snow_gate_tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("snow_events.id"), index=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("snow_fields.id"))
    plate: Mapped[str] = mapped_column(String(16))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    volume_m3: Mapped[float] = mapped_column(Float)
    section_id: Mapped[int | None] = mapped_column(ForeignKey("snow_sections.id"))
    by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class TripAlarm(Base):
    """A 污雪 trip into a clean-only field, decided once: its alarm and its case."""

    __tablename__ = "snow_trip_alarms"
    __table_args__ = (UniqueConstraint("event_id", "plate", "entered_at", name="uq_snow_alarm"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("snow_events.id"), index=True)
    plate: Mapped[str] = mapped_column(String(16))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    field_id: Mapped[int] = mapped_column(ForeignKey("snow_fields.id"))
    section_id: Mapped[int] = mapped_column(ForeignKey("snow_sections.id"))
    case_code: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class FieldWarning(Base):
    """A field's fill crossed 80 % or 95 % of its capacity."""

    __tablename__ = "snow_field_warnings"

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("snow_fields.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    fill_m3: Mapped[float] = mapped_column(Float)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class DayFigure(Base):
    """Workers (人次) entered for a unit and an event day, used where no work logs exist."""

    __tablename__ = "snow_day_figures"

    event_id: Mapped[int] = mapped_column(ForeignKey("snow_events.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    workers: Mapped[int] = mapped_column(Integer)
