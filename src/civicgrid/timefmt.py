"""Times are stored in UTC and shown in the district's zone (Asia/Shanghai by default)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from civicgrid.config import get_settings


@lru_cache
def local_zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


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
