"""A year of a city's fleet: on PostgreSQL the fixes table is partitioned by UTC day
(vehicle_fixes_pYYYYMMDD, migration 0010 made the parent and a default partition), so that
retention drops whole days instead of deleting rows. The `gps-partitions` job (the one
scheduler) makes the coming days' partitions ahead and drops those past gps_retention_days;
rows that landed in the default partition (before their day's partition existed) are moved
into it when it is made. On SQLite, one table: retention deletes the old rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from civicgrid.config import Settings
from civicgrid.kit import scheduler
from civicgrid.kit.db import utcnow
from civicgrid.vehicles.models import Fix

PREFIX = "vehicle_fixes_p"
AHEAD_DAYS = 3


def _name(day: dt.date) -> str:
    return f"{PREFIX}{day:%Y%m%d}"


def existing(session: Session) -> dict[dt.date, str]:
    """The day partitions of vehicle_fixes, by day (PostgreSQL)."""
    rows = session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'vehicle_fixes'::regclass"
        )
    ).scalars()
    out = {}
    for name in rows:
        if name.startswith(PREFIX):
            out[dt.datetime.strptime(name[len(PREFIX) :], "%Y%m%d").date()] = name
    return out


def make(session: Session, day: dt.date) -> str:
    """The partition of `day` (UTC), made if missing, with the default partition's rows of
    that day moved into it."""
    name = _name(day)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)
    end = start + dt.timedelta(days=1)
    bounds = {"a": start, "b": end}
    session.execute(
        text(f'CREATE TABLE "{name}" (LIKE vehicle_fixes INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
    )
    session.execute(
        text(
            f'INSERT INTO "{name}" SELECT * FROM vehicle_fixes_default '
            "WHERE fix_time >= :a AND fix_time < :b"
        ),
        bounds,
    )
    session.execute(
        text("DELETE FROM vehicle_fixes_default WHERE fix_time >= :a AND fix_time < :b"), bounds
    )
    session.execute(
        text(
            f'ALTER TABLE vehicle_fixes ATTACH PARTITION "{name}" '
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    )
    return name


def maintain(session: Session, settings: Settings, now: dt.datetime | None = None) -> dict:
    """Partitions for yesterday to AHEAD_DAYS ahead; whole days past retention dropped (on
    SQLite, their rows deleted)."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=settings.gps_retention_days)
    if session.get_bind().dialect.name != "postgresql":
        gone = session.execute(delete(Fix).where(Fix.fix_time < cutoff)).rowcount
        return {"deleted_rows": gone}
    have = existing(session)
    today = now.astimezone(dt.UTC).date()
    made = []
    for offset in range(-1, AHEAD_DAYS + 1):
        day = today + dt.timedelta(days=offset)
        if day not in have:
            made.append(make(session, day))
    dropped = []
    for day, name in sorted(have.items()):
        if dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC) <= cutoff:
            session.execute(text(f'DROP TABLE "{name}"'))
            dropped.append(name)
    session.execute(text("DELETE FROM vehicle_fixes_default WHERE fix_time < :c"), {"c": cutoff})
    return {"made": made, "dropped": dropped}


PARTITION_JOB = scheduler.register(
    scheduler.Job(
        name="gps-partitions",
        every=dt.timedelta(hours=1),
        run=maintain,
        description="定位数据分区与保留期: day partitions ahead, old days dropped",
    )
)
