"""Named reads of the snow season's tables, for this domain's service and for other domains."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from civicgrid.snowfields.models import (
    DayFigure,
    EventSection,
    FieldSurvey,
    FieldWarning,
    GateTicket,
    SectionReport,
    SnowEvent,
    SnowField,
    SnowLimit,
    SnowSection,
    TripAlarm,
)


def limits(session: Session) -> list[SnowLimit]:
    return list(session.scalars(select(SnowLimit)))


def events(session: Session) -> list[SnowEvent]:
    return list(session.scalars(select(SnowEvent).order_by(SnowEvent.started_at.desc())))


def events_at(session: Session, at: dt.datetime) -> list[SnowEvent]:
    """The events going on at `at`: started, not closed."""
    query = select(SnowEvent).where(
        SnowEvent.started_at <= at,
        or_(SnowEvent.closed_at.is_(None), SnowEvent.closed_at > at),
    )
    return list(session.scalars(query.order_by(SnowEvent.started_at.desc())))


def sections(session: Session) -> list[SnowSection]:
    query = select(SnowSection).where(SnowSection.active.is_(True)).order_by(SnowSection.id)
    return list(session.scalars(query))


def section_by_code(session: Session, code: str) -> SnowSection | None:
    return session.scalar(select(SnowSection).where(SnowSection.code == code))


def fields_of(session: Session, event_id: int | None) -> list[SnowField]:
    """The permanent fields and the temporary fields of this event."""
    cond = SnowField.event_id.is_(None)
    if event_id is not None:
        cond = or_(cond, SnowField.event_id == event_id)
    return list(session.scalars(select(SnowField).where(cond).order_by(SnowField.id)))


def field_by_code(session: Session, code: str) -> SnowField | None:
    return session.scalar(select(SnowField).where(SnowField.code == code))


def event_sections(session: Session, event_id: int) -> dict[int, EventSection]:
    query = select(EventSection).where(EventSection.event_id == event_id)
    return {row.section_id: row for row in session.scalars(query)}


def reports(session: Session, event_id: int) -> list[SectionReport]:
    query = select(SectionReport).where(SectionReport.event_id == event_id)
    return list(session.scalars(query.order_by(SectionReport.at, SectionReport.id)))


def tickets(session: Session, event_id: int) -> list[GateTicket]:
    query = select(GateTicket).where(GateTicket.event_id == event_id)
    return list(session.scalars(query.order_by(GateTicket.entered_at, GateTicket.id)))


def surveys(session: Session, field_ids: list[int]) -> list[FieldSurvey]:
    if not field_ids:
        return []
    query = select(FieldSurvey).where(FieldSurvey.field_id.in_(field_ids))
    return list(session.scalars(query.order_by(FieldSurvey.at, FieldSurvey.id)))


def photo_keys(session: Session):
    for key, thumb in session.execute(select(SectionReport.photo_key, SectionReport.thumb_key)):
        yield key
        yield thumb


def warnings(session: Session, field_ids: list[int]) -> list[FieldWarning]:
    if not field_ids:
        return []
    query = select(FieldWarning).where(FieldWarning.field_id.in_(field_ids))
    return list(session.scalars(query.order_by(FieldWarning.at, FieldWarning.id)))


def alarms(session: Session, event_id: int) -> list[TripAlarm]:
    query = select(TripAlarm).where(TripAlarm.event_id == event_id)
    return list(session.scalars(query.order_by(TripAlarm.entered_at, TripAlarm.id)))


def alarm_exists(session: Session, event_id: int, plate: str, entered_at: dt.datetime) -> bool:
    query = select(TripAlarm.id).where(
        TripAlarm.event_id == event_id,
        TripAlarm.plate == plate,
        TripAlarm.entered_at == entered_at,
    )
    return session.scalar(query) is not None


def day_figures(session: Session, event_id: int, day: dt.date) -> list[DayFigure]:
    query = select(DayFigure).where(DayFigure.event_id == event_id, DayFigure.day == day)
    return list(session.scalars(query))
