"""Administrators' data for the case spine: dispatch rules and the working calendar."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.cases.models import CalendarDay, CalendarYear
from civicgrid.kit.timefmt import check_year


def set_day(session: Session, *, day: dt.date, is_workday: bool, note: str = "") -> CalendarDay:
    """Mark a day as a working day or a day off, overriding chinese-calendar (a day of the
    years timefmt allows)."""
    check_year(day, "day")
    row = session.get(CalendarDay, day)
    if row is None:
        row = CalendarDay(day=day, is_workday=is_workday, note=note)
        session.add(row)
    else:
        row.is_workday, row.note = is_workday, note
    session.flush()
    return row


def clear_day(session: Session, day: dt.date) -> None:
    row = session.get(CalendarDay, day)
    if row is not None:
        session.delete(row)
        session.flush()


def enter_year(session: Session, *, year: int, note: str = "") -> CalendarYear:
    """Declare a year entered: its days off and adjusted working days are the CalendarDay rows
    (the rest follow the weekday rule), and deadlines in it are no longer flagged."""
    check_year(year, "year")
    row = session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year, note=note)
        session.add(row)
        session.flush()
    return row


def calendar_entries(session: Session) -> dict:
    return {
        "years": [
            {"year": y.year, "note": y.note}
            for y in session.scalars(select(CalendarYear).order_by(CalendarYear.year))
        ],
        "days": [
            {"day": d.day.isoformat(), "is_workday": d.is_workday, "note": d.note}
            for d in session.scalars(select(CalendarDay).order_by(CalendarDay.day))
        ],
    }
