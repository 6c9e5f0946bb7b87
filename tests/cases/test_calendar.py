"""Deadlines against an independent, minute-by-minute computation on the State Council's 2026
schedule (typed in here from the notice, not taken from chinese-calendar)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from civicgrid.cases.calendar import WorkCalendar, parse_periods
from civicgrid.cases.models import CalendarDay, CalendarYear
from civicgrid.config import Settings

CST = ZoneInfo("Asia/Shanghai")
# 2026: 中秋节 9月25日; 国庆节 10月1日至7日 off; 9月20日(周日)、10月10日(周六) are working days.
OFF_2026 = {
    dt.date(2026, 9, 25),
    dt.date(2026, 10, 1),
    dt.date(2026, 10, 2),
    dt.date(2026, 10, 5),
    dt.date(2026, 10, 6),
    dt.date(2026, 10, 7),
}
WORK_2026 = {dt.date(2026, 9, 20), dt.date(2026, 10, 10)}
PERIODS = [(dt.time(8, 30), dt.time(12, 0)), (dt.time(13, 0), dt.time(17, 30))]


def is_workday(day: dt.date) -> bool:
    if day in OFF_2026:
        return False
    if day in WORK_2026:
        return True
    return day.weekday() < 5


def brute_force(start: dt.datetime, hours: float) -> dt.datetime:
    """Walk minute by minute; the deadline is the end of the minute that completes the hours."""
    need = round(hours * 60)
    t = start.astimezone(CST)
    assert t.second == 0 and t.microsecond == 0
    while True:
        if is_workday(t.date()) and any(s <= t.time() < e for s, e in PERIODS):
            need -= 1
            if need == 0:
                return t + dt.timedelta(minutes=1)
        t += dt.timedelta(minutes=1)


@pytest.fixture()
def cal(session):
    return WorkCalendar.load(session, Settings())


STARTS = [
    dt.datetime(2026, 9, 19, 10, 0, tzinfo=CST),  # Saturday before the working Sunday
    dt.datetime(2026, 9, 20, 16, 0, tzinfo=CST),  # the working Sunday
    dt.datetime(2026, 9, 24, 15, 45, tzinfo=CST),  # the day before Mid-autumn
    dt.datetime(2026, 9, 30, 9, 0, tzinfo=CST),  # the last day before National Day
    dt.datetime(2026, 9, 30, 17, 0, tzinfo=CST),
    dt.datetime(2026, 10, 3, 12, 0, tzinfo=CST),  # inside the holiday
    dt.datetime(2026, 10, 9, 12, 30, tzinfo=CST),  # lunch break before the working Saturday
    dt.datetime(2026, 10, 10, 8, 0, tzinfo=CST),  # the working Saturday, before opening
    dt.datetime(2026, 10, 10, 17, 30, tzinfo=CST),  # its closing minute
]


@pytest.mark.parametrize("start", STARTS, ids=lambda s: s.strftime("%m%d-%H%M"))
@pytest.mark.parametrize("hours", [0.5, 2, 3.5, 4, 5, 8, 16, 32])
def test_working_hours_match_the_independent_computation(cal, start, hours):
    got = cal.add(start, hours, "working_hours")
    assert got.at == brute_force(start, hours).astimezone(dt.UTC)
    assert got.calendar_missing is False


def test_a_deadline_falling_on_a_period_end_is_that_end_not_the_next_start(cal):
    start = dt.datetime(2026, 3, 2, 8, 30, tzinfo=CST)
    assert cal.add(start, 3.5, "working_hours").at == dt.datetime(2026, 3, 2, 12, 0, tzinfo=CST)
    assert cal.add(start, 8, "working_hours").at == dt.datetime(2026, 3, 2, 17, 30, tzinfo=CST)


def test_working_days_are_eight_working_hours_and_natural_hours_are_clock_time(cal):
    start = dt.datetime(2026, 9, 30, 9, 0, tzinfo=CST)
    assert cal.add(start, 2, "working_days").at == cal.add(start, 16, "working_hours").at
    assert cal.add(start, 2, "working_days").at == dt.datetime(2026, 10, 9, 9, 0, tzinfo=CST)
    assert cal.add(start, 24, "natural_hours").at == dt.datetime(2026, 10, 1, 9, 0, tzinfo=CST)


def test_a_year_without_calendar_uses_weekdays_and_says_so(cal):
    start = dt.datetime(2026, 12, 31, 16, 0, tzinfo=CST)
    got = cal.add(start, 4, "working_hours")
    # 2027-01-01 is a Friday: by the weekday rule a working day (really a holiday)
    assert got.at == dt.datetime(2027, 1, 1, 11, 0, tzinfo=CST)
    assert got.calendar_missing is True
    assert (
        cal.add(dt.datetime(2026, 12, 30, 9, 0, tzinfo=CST), 2, "working_hours").calendar_missing
        is False
    )


def test_an_administrator_can_enter_a_missing_year(session):
    session.add(CalendarYear(year=2027, note="国务院办公厅通知"))
    session.add(CalendarDay(day=dt.date(2027, 1, 1), is_workday=False, note="元旦"))
    session.flush()
    cal = WorkCalendar.load(session, Settings())
    got = cal.add(dt.datetime(2026, 12, 31, 16, 0, tzinfo=CST), 4, "working_hours")
    assert got.at == dt.datetime(2027, 1, 4, 11, 0, tzinfo=CST)  # Monday
    assert got.calendar_missing is False


def test_working_between_counts_only_working_time(cal):
    a = dt.datetime(2026, 9, 30, 9, 0, tzinfo=CST)
    b = dt.datetime(2026, 10, 9, 9, 0, tzinfo=CST)
    assert cal.working_between(a, b) == dt.timedelta(hours=16)
    assert cal.working_between(b, a) == dt.timedelta(0)


def test_bad_periods_and_units_are_refused(cal):
    from civicgrid.kit.errors import BadRequest

    with pytest.raises(BadRequest):
        parse_periods("12:00-08:00")
    with pytest.raises(BadRequest):
        cal.add(dt.datetime(2026, 3, 2, 9, tzinfo=CST), 1, "fortnights")
    with pytest.raises(BadRequest):
        cal.add(dt.datetime(2026, 3, 2, 9), 1, "working_hours")
