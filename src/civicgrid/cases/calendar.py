"""Working time: the Chinese public-holiday calendar and deadline arithmetic.

Holidays and adjusted working weekends come from `chinese-calendar` (2004–2026), overridden day by
day by administrators' CalendarDay rows. A year the package lacks counts as entered once an
administrator has entered it (CalendarYear); otherwise the plain weekday rule is used and the
answer carries `calendar_missing`, so that nobody mistakes a guess for the law.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.cases.models import CalendarDay, CalendarYear
from civicgrid.config import Settings
from civicgrid.kit import refcache
from civicgrid.kit.errors import BadRequest

UNITS = ("working_hours", "natural_hours", "working_days")
_MICROSECOND = dt.timedelta(microseconds=1)
_DAY = dt.timedelta(days=1)
HOURS_PER_WORKING_DAY = 8


@dataclass(frozen=True)
class Deadline:
    at: dt.datetime
    calendar_missing: bool


def parse_periods(text: str) -> list[tuple[dt.time, dt.time]]:
    periods = []
    try:
        for part in text.split(","):
            start, end = part.strip().split("-")
            periods.append((dt.time.fromisoformat(start), dt.time.fromisoformat(end)))
    except ValueError as exc:
        raise BadRequest(f"工作时段格式错误: {text}", f"bad working periods: {text}") from exc
    if any(s >= e for s, e in periods) or any(
        a[1] > b[0] for a, b in zip(periods, periods[1:], strict=False)
    ):
        raise BadRequest(
            f"工作时段须按时间先后且不重叠: {text}",
            f"working periods must be ordered and apart: {text}",
        )
    return periods


@dataclass
class WorkCalendar:
    periods: list[tuple[dt.time, dt.time]]
    tz: ZoneInfo
    overrides: dict[dt.date, bool] = field(default_factory=dict)
    entered_years: set[int] = field(default_factory=set)
    # is_workday's answers: a calendar is never changed in place (a change loads a new one)
    _days: dict[dt.date, tuple[bool, bool]] = field(default_factory=dict, repr=False)
    _blocks: dict[dt.date, list] = field(default_factory=dict, repr=False)
    _naive: dict[dt.date, list] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, session: Session, settings: Settings) -> WorkCalendar:
        """The calendar with the administrators' entries read from the database (cached for a
        few seconds, see refcache: it is read for every deadline; nobody changes it in place)."""

        def read() -> WorkCalendar:
            overrides = {d.day: d.is_workday for d in session.scalars(select(CalendarDay))}
            years = set(session.scalars(select(CalendarYear.year)))
            return cls(
                parse_periods(settings.work_periods), ZoneInfo(settings.timezone), overrides, years
            )

        key = ("calendar", settings.work_periods, settings.timezone)
        return refcache.get(key, read, session)

    @staticmethod
    def tz_of(settings: Settings) -> ZoneInfo:
        return ZoneInfo(settings.timezone)

    def covered(self, year: int) -> bool:
        """Whether the holidays of this year are known (package or administrator)."""
        if year in self.entered_years:
            return True
        try:
            chinese_calendar.is_workday(dt.date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def is_workday(self, day: dt.date) -> tuple[bool, bool]:
        """(working day?, guessed by the weekday rule because the year has no calendar?)"""
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._is_workday(day)
        return known

    def _is_workday(self, day: dt.date) -> tuple[bool, bool]:
        if day in self.overrides:
            return self.overrides[day], False
        if day.year in self.entered_years:
            return day.weekday() < 5, False
        try:
            return chinese_calendar.is_workday(day), False
        except NotImplementedError:
            return day.weekday() < 5, True

    def _periods_of(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        known = self._blocks.get(day)
        if known is None:
            known = self._blocks[day] = [
                (dt.datetime.combine(day, s, self.tz), dt.datetime.combine(day, e, self.tz))
                for s, e in self.periods
            ]
        return known

    def add(self, start: dt.datetime, limit: float, unit: str) -> Deadline:
        """The deadline `limit` `unit`s after `start` (an aware datetime), in UTC."""
        if unit not in UNITS:
            raise BadRequest(f"时限单位 {unit} 无效", f"unknown limit unit {unit}; use {UNITS}")
        if start.tzinfo is None:
            raise BadRequest("时间必须带时区", "a time needs its UTC offset")
        if not limit > 0:
            raise BadRequest("时限必须为正数", "a time limit must be positive")
        if unit == "natural_hours":
            return Deadline((start + dt.timedelta(hours=limit)).astimezone(dt.UTC), False)
        hours = limit * HOURS_PER_WORKING_DAY if unit == "working_days" else limit
        return self.add_working(start, dt.timedelta(hours=hours))

    def add_working(self, start: dt.datetime, amount: dt.timedelta) -> Deadline:
        """The earliest instant at which `amount` of working time has passed since `start`;
        a start outside working time begins counting at the next working period."""
        local = start.astimezone(self.tz)
        day = local.date()
        remaining = amount
        missing = False
        for _ in range(3660):  # ten years of days: no limit here is that long
            workday, guessed = self.is_workday(day)
            missing = missing or guessed
            if workday:
                for p_start, p_end in self._periods_of(day):
                    if local >= p_end:
                        continue
                    begin = max(local, p_start)
                    available = p_end - begin
                    if remaining <= available:
                        return Deadline((begin + remaining).astimezone(dt.UTC), missing)
                    remaining -= available
            day += dt.timedelta(days=1)
        raise BadRequest("时限过长", "the time limit is too long")

    def working_between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """Working time between two instants (zero when b <= a)."""
        if b <= a:
            return dt.timedelta(0)
        a_local, b_local = a.astimezone(self.tz), b.astimezone(self.tz)
        total = dt.timedelta(0)
        day = a_local.date()
        while day <= b_local.date():
            if self.is_workday(day)[0]:
                for p_start, p_end in self._periods_of(day):
                    lo, hi = max(p_start, a_local), min(p_end, b_local)
                    if hi > lo:
                        total += hi - lo
            day += dt.timedelta(days=1)
        return total

    def _naive_blocks(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The day's working blocks as local wall times (none on a day off)."""
        known = self._naive.get(day)
        if known is None:
            known = self._naive[day] = (
                [
                    (dt.datetime.combine(day, s), dt.datetime.combine(day, e))
                    for s, e in self.periods
                ]
                if self.is_workday(day)[0]
                else []
            )
        return known

    def inside_working_time(self, at: dt.datetime) -> bool:
        """Whether `at` lies in a working block after its start, its end included: the
        instants at which a count of working time can end."""
        local = at.astimezone(self.tz).replace(tzinfo=None)
        return any(p_start < local <= p_end for p_start, p_end in self._naive_blocks(local.date()))

    def wait_key(self, a: dt.datetime, b: dt.datetime) -> int:
        """2 × the working microseconds from a to b, + 1 unless b is inside working time: b is
        within N of working time after a exactly when wait_key(a, b) <= 2 × N (in µs). (The
        limit is where the count of N ends, a block's end included; an instant after it in the
        pause that follows has the same working time but is late.) Wall-clock arithmetic, as
        working_between's (the same zone on both sides)."""
        lo_end = a.astimezone(self.tz).replace(tzinfo=None)
        hi_end = b.astimezone(self.tz).replace(tzinfo=None)
        total = dt.timedelta(0)
        day, last = lo_end.date(), hi_end.date()
        while day <= last:
            for p_start, p_end in self._naive_blocks(day):
                lo = p_start if p_start > lo_end else lo_end
                hi = p_end if p_end < hi_end else hi_end
                if hi > lo:
                    total += hi - lo
            day += _DAY
        inside = any(p_start < hi_end <= p_end for p_start, p_end in self._naive_blocks(last))
        return 2 * (total // _MICROSECOND) + (0 if inside else 1)
