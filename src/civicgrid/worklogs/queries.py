"""Named reads of the work logs (for this domain's service and for other domains)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.worklogs.models import WorkLog, WorkLogEntry, WorkLogEvent, WorkLogPhoto


def log_of(session: Session, person_id: int, day: dt.date) -> WorkLog | None:
    return session.scalar(select(WorkLog).where(WorkLog.person_id == person_id, WorkLog.day == day))


def logs_of_day(session: Session, day: dt.date, person_ids: Collection[int]) -> dict[int, WorkLog]:
    """The logs of this day of these people, by person."""
    if not person_ids:
        return {}
    query = select(WorkLog).where(WorkLog.day == day, WorkLog.person_id.in_(list(person_ids)))
    return {log.person_id: log for log in session.scalars(query)}


def logs_between(
    session: Session, person_ids: Collection[int], first: dt.date, last: dt.date
) -> list[WorkLog]:
    """These people's logs of the days first..last (inclusive), by day then person."""
    if not person_ids:
        return []
    query = (
        select(WorkLog)
        .where(WorkLog.person_id.in_(list(person_ids)), WorkLog.day >= first, WorkLog.day <= last)
        .order_by(WorkLog.day, WorkLog.person_id)
    )
    return list(session.scalars(query))


def logs_of_units(
    session: Session, unit_ids: Collection[int] | None, first: dt.date, last: dt.date
) -> list[WorkLog]:
    """The logs of the days first..last (inclusive) written in these units (None: all), by day
    then person."""
    query = select(WorkLog).where(WorkLog.day >= first, WorkLog.day <= last)
    if unit_ids is not None:
        query = query.where(WorkLog.unit_id.in_(list(unit_ids)))
    return list(session.scalars(query.order_by(WorkLog.day, WorkLog.person_id)))


def history(session: Session, log_id: int) -> list[WorkLogEvent]:
    query = select(WorkLogEvent).where(WorkLogEvent.log_id == log_id).order_by(WorkLogEvent.id)
    return list(session.scalars(query))


def photo(session: Session, log_id: int, photo_id: int) -> WorkLogPhoto | None:
    """The photo of this id if it belongs to an entry of this log."""
    query = (
        select(WorkLogPhoto)
        .join(WorkLogEntry, WorkLogEntry.id == WorkLogPhoto.entry_id)
        .where(WorkLogPhoto.id == photo_id, WorkLogEntry.log_id == log_id)
    )
    return session.scalar(query)


def stored_keys(session: Session) -> Iterator[str]:
    """Every stored key the logs' photos refer to (the media sweep keeps them)."""
    for key, thumb in session.execute(select(WorkLogPhoto.key, WorkLogPhoto.thumb_key)):
        yield key
        yield thumb
