"""The one way fixes get stored, whatever sent them (the JT/T 808 gateway, the HTTP ingest):
the filters before storing, then one statement for the lot.

Filters (Traccar's, shared/reference/trips.md): invalid (when gps_filter_invalid), (0, 0),
duplicate time (the table's key refuses a second fix of one tracker and second), future
(more than gps_future_seconds ahead of the server) and jumps (an implied speed above
gps_max_speed_kmh from the last kept fix before it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from civicgrid.config import get_settings
from civicgrid.kit.db import utcnow
from civicgrid.vehicles.geodesy import distance_m
from civicgrid.vehicles.models import Fix, Tracker


@dataclass(slots=True)
class FixIn:
    fix_time: dt.datetime  # aware
    lon: float
    lat: float
    speed: float = 0.0  # km/h
    direction: int = 0
    altitude: int = 0
    alarm: int = 0
    status: int = 0
    mileage: float | None = None
    valid: bool = True
    backfill: bool = False


@dataclass(slots=True)
class Stored:
    received: int
    stored: int

    @property
    def dropped(self) -> int:
        return self.received - self.stored


def _insert(session: Session):
    """INSERT … ON CONFLICT DO NOTHING: a fix of a second already stored is a duplicate."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(Fix.__table__).on_conflict_do_nothing()
    return insert(Fix.__table__)


_COLUMNS = (
    "tracker_id, fix_time, server_time, lon, lat, speed, direction, altitude, alarm, status, "
    "mileage, valid, backfill"
)
# SQLite: the driver's executemany with the times as UTCDateTime stores them (kit.db), without
# the ORM's per-row bind processing (the bulk of a batch's time).
_SQLITE_INSERT = (
    f"INSERT INTO vehicle_fixes ({_COLUMNS}) VALUES ({', '.join('?' * 13)}) ON CONFLICT DO NOTHING"
)


def _sqlite_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _write(session: Session, now: dt.datetime, kept: list[tuple[int, list[FixIn]]]) -> None:
    """One statement for the fixes of every tracker of the batch."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        server = _sqlite_time(now)
        conn.exec_driver_sql(
            _SQLITE_INSERT,
            [
                (
                    tracker_id,
                    _sqlite_time(f.fix_time),
                    server,
                    f.lon,
                    f.lat,
                    f.speed,
                    f.direction,
                    f.altitude,
                    f.alarm,
                    f.status,
                    f.mileage,
                    f.valid,
                    f.backfill,
                )
                for tracker_id, fixes in kept
                for f in fixes
            ],
        )
        return
    conn.execute(
        _insert(session),
        [
            {
                "tracker_id": tracker_id,
                "fix_time": f.fix_time,
                "server_time": now,
                "lon": f.lon,
                "lat": f.lat,
                "speed": f.speed,
                "direction": f.direction,
                "altitude": f.altitude,
                "alarm": f.alarm,
                "status": f.status,
                "mileage": f.mileage,
                "valid": f.valid,
                "backfill": f.backfill,
            }
            for tracker_id, fixes in kept
            for f in fixes
        ],
    )


def keep(tracker: Tracker, fixes: list[FixIn], *, now: dt.datetime) -> list[FixIn]:
    """The fixes that pass the filters, in time order (duplicates within the list dropped;
    those already stored are left to the table's key)."""
    settings = get_settings()
    future = now + dt.timedelta(seconds=settings.gps_future_seconds)
    max_speed = settings.gps_max_speed_kmh
    kept: list[FixIn] = []
    seen: set[dt.datetime] = set()
    last = (
        (tracker.last_fix_time, tracker.last_lat, tracker.last_lon)
        if tracker.last_fix_time is not None
        else None
    )
    for fix in sorted(fixes, key=lambda f: f.fix_time):
        fix.fix_time = fix.fix_time.replace(microsecond=0)
        if fix.fix_time in seen or fix.fix_time > future:
            continue
        if settings.gps_filter_invalid and not fix.valid:
            continue
        if fix.lat == 0 and fix.lon == 0:
            continue
        if not (-90 <= fix.lat <= 90 and -180 <= fix.lon <= 180):
            continue
        # the reference for a jump: the last kept fix before this one (the tracker's last
        # fix when it is older, as for a live fix; the previous of this batch otherwise)
        ref = kept[-1] if kept else None
        ref_point = (ref.fix_time, ref.lat, ref.lon) if ref else None
        if last is not None and last[0] < fix.fix_time and (ref is None or last[0] > ref.fix_time):
            ref_point = last
        if ref_point is not None:
            seconds = (fix.fix_time - ref_point[0]).total_seconds()  # > 0: sorted, deduplicated
            if distance_m(ref_point[1], ref_point[2], fix.lat, fix.lon) / seconds * 3.6 > max_speed:
                continue
        seen.add(fix.fix_time)
        kept.append(fix)
    return kept


def store(session: Session, tracker: Tracker, fixes: list[FixIn]) -> Stored:
    """Filter and store one tracker's fixes in this transaction (flushes, never commits); the
    tracker's last fix follows the newest one kept."""
    return store_many(session, [(tracker, fixes)])[0]


def store_many(session: Session, batches: list[tuple[Tracker, list[FixIn]]]) -> list[Stored]:
    """`store` for the fixes of many trackers (a tracker may come more than once, its batches
    filtered in order), in one statement: the gateway's group commit writes what many
    terminals sent meanwhile this way."""
    now = utcnow()
    results: list[Stored] = []
    rows: list[tuple[int, list[FixIn]]] = []
    last: dict[int, dict] = {}
    for tracker, fixes in batches:
        kept = keep(tracker, fixes, now=now)
        results.append(Stored(received=len(fixes), stored=len(kept)))
        if not kept:
            continue
        rows.append((tracker.id, kept))
        newest = kept[-1]
        if tracker.last_fix_time is None or newest.fix_time > tracker.last_fix_time:
            last[tracker.id] = {
                "tracker": tracker.id,
                "last_fix_time": newest.fix_time,
                "last_lon": newest.lon,
                "last_lat": newest.lat,
                "last_speed": newest.speed,
            }
            # as loaded: the UPDATE below writes it, not the flush
            for key, value in last[tracker.id].items():
                if key != "tracker":
                    set_committed_value(tracker, key, value)
    if rows:
        _write(session, now, rows)
        # one statement for every tracker's last fix (not audited, as the flush of these
        # columns is not: the audit skips them)
        if last:
            table = Tracker.__table__
            session.connection().execute(
                update(table).where(table.c.id == bindparam("tracker")), list(last.values())
            )
    return results


def tracker_for_update(session: Session, tracker_id: int) -> Tracker:
    return session.scalars(select(Tracker).where(Tracker.id == tracker_id)).one()
