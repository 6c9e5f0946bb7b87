"""Times are stored in UTC and shown in the district's zone (Asia/Shanghai by default)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from civicgrid.config import get_settings
from civicgrid.kit.errors import BadRequest

# Every date or time a person or a client gives must fall in these years (inclusive): the
# database and the working calendar have no business with year 1 or 9999.
YEAR_MIN, YEAR_MAX = 2000, 2099


@lru_cache
def local_zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def local_today(now: dt.datetime | None = None) -> dt.date:
    """The local calendar day of `now` (default: this moment)."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(local_zone()).date()


def local_day(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local calendar day, as aware times (midnight to midnight)."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=local_zone())
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=local_zone())


def iso_local(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the local offset, e.g. 2026-03-02T09:00:00+08:00."""
    if value is None:
        return None
    return value.astimezone(local_zone()).isoformat()


def parse_aware(text: str, *, default_local: bool = False) -> dt.datetime:
    """An ISO 8601 time; without an offset it is local time when default_local, else an error."""
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        if not default_local:
            raise ValueError(f"{text}: a UTC offset is required")
        value = value.replace(tzinfo=local_zone())
    return value


class BadTime(BadRequest):
    def __init__(self, name: str, text: str, why_zh: str, why_en: str):
        super().__init__(
            f"时间 {text[:40]!r} {why_zh}",  # the field's code is for programs (`field`)
            f"{name} {text[:40]!r} {why_en}",
            extra={"field": name},
        )


def check_year(value: dt.datetime | dt.date | int, name: str, text: str | None = None) -> None:
    """BadTime (400) unless `value` (a time, a date or a year) falls in YEAR_MIN..YEAR_MAX."""
    year = value if isinstance(value, int) else value.year
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise BadTime(
            name,
            text or str(value if isinstance(value, int) else value.isoformat()),
            f"超出允许范围 (年份须在 {YEAR_MIN}–{YEAR_MAX} 之间)",
            f"is out of range: years {YEAR_MIN}–{YEAR_MAX} only",
        )


def parse_time(text: str, name: str, *, default_local: bool = True) -> dt.datetime:
    """A time a person or a client gave: ISO 8601 date-time (a trailing Z is UTC) or a date
    (its local midnight). Without an offset it is local time when `default_local`, else
    refused. BadTime (400) naming `name` for anything else, and for years outside
    YEAR_MIN..YEAR_MAX."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            value = dt.datetime.combine(dt.date.fromisoformat(raw), dt.time(0))
        else:
            value = dt.datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
    except ValueError:
        raise BadTime(
            name,
            text,
            "不是 ISO 8601 时间 (如 2026-03-02T09:00:00+08:00)",
            "is not an ISO 8601 time (e.g. 2026-03-02T09:00:00+08:00)",
        ) from None
    check_year(value, name, text)
    if value.tzinfo is None:
        if not default_local:
            raise BadTime(
                name, text, "须带时区偏移 (如 +08:00)", "needs a UTC offset (e.g. +08:00)"
            )
        value = value.replace(tzinfo=local_zone())
    return value
