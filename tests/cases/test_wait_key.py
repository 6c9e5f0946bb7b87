"""cases.calendar.WorkCalendar.wait_key against the limit itself (add_working): an instant b is
within N working minutes after a exactly when wait_key(a, b) <= 2 × N minutes in µs, for
instants around lunch, evenings, weekends and the Qingming holiday, to the second."""

import datetime as dt
import random
from zoneinfo import ZoneInfo

from civicgrid.cases.calendar import WorkCalendar, parse_periods

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar(parse_periods("08:30-12:00,13:00-17:30"), TZ)
MICRO = 60_000_000


def within(a, b, minutes):
    return b <= CAL.add_working(a, dt.timedelta(minutes=minutes)).at


def test_the_edges_of_a_limit():
    a = dt.datetime(2026, 4, 1, 11, 30, tzinfo=TZ)  # 60 min: 30 before lunch, 30 after
    limit = dt.datetime(2026, 4, 1, 13, 30, tzinfo=TZ)
    assert CAL.wait_key(a, limit) <= 2 * 60 * MICRO
    assert CAL.wait_key(a, limit + dt.timedelta(seconds=1)) > 2 * 60 * MICRO
    # a count ending at 12:00: 12:00 is on time, 12:00:01 and 13:00 are late
    a = dt.datetime(2026, 4, 1, 11, 0, tzinfo=TZ)
    noon = dt.datetime(2026, 4, 1, 12, 0, tzinfo=TZ)
    assert CAL.wait_key(a, noon) <= 2 * 60 * MICRO
    assert CAL.wait_key(a, noon + dt.timedelta(seconds=1)) > 2 * 60 * MICRO
    assert CAL.wait_key(a, noon.replace(hour=13)) > 2 * 60 * MICRO
    # Friday 17:00 + 60 across the holiday weekend: Tuesday 09:00:00
    a = dt.datetime(2026, 4, 3, 17, 0, tzinfo=TZ)
    tue = dt.datetime(2026, 4, 7, 9, 0, tzinfo=TZ)
    assert CAL.wait_key(a, tue) <= 2 * 60 * MICRO < CAL.wait_key(a, tue + dt.timedelta(seconds=1))


def test_it_agrees_with_the_limit_everywhere():
    rng = random.Random(5)
    base = dt.datetime(2026, 3, 30, 0, 0, tzinfo=TZ)
    marks = [
        base + dt.timedelta(days=d, hours=h, minutes=m)
        for d in range(10)
        for h, m in ((8, 30), (12, 0), (13, 0), (17, 30), (8, 0), (20, 0))
    ]
    for _ in range(3000):
        a = rng.choice(marks) + dt.timedelta(
            seconds=rng.choice([0, 0, 1, -1, rng.randint(0, 9000)])
        )
        minutes = rng.choice([1, 30, 60, 120, 210, 480])
        limit = CAL.add_working(a, dt.timedelta(minutes=minutes)).at
        for b in (
            limit,
            limit + dt.timedelta(seconds=1),
            limit - dt.timedelta(seconds=1),
            limit + dt.timedelta(hours=rng.randint(0, 70)),
            rng.choice(marks),
        ):
            if b < a:
                continue
            assert within(a, b, minutes) == (CAL.wait_key(a, b) <= 2 * minutes * MICRO), (
                a,
                b,
                minutes,
            )
