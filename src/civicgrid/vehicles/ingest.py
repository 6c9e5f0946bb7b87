"""The one way fixes get stored, whatever sent them (the JT/T 808 gateway, the HTTP ingest):
the filters before storing, then one statement for the lot.

Filters (Traccar's, shared/reference/trips.md): invalid (when gps_filter_invalid), (0, 0),
duplicate time (the table's key refuses a second fix of one tracker and second), future
(more than gps_future_seconds ahead of the server) and jumps (an implied speed above
gps_max_speed_kmh from the last kept fix before it)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from itertools import repeat

import numpy as np
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from civicgrid.config import get_settings
from civicgrid.kit.db import utcnow
from civicgrid.vehicles.geodesy import distance_m, distances_m
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


def _sqlite_plain_insert(tracker_id: int, server: str) -> str:
    """The SQLite insert of a plain batch: its tracker and time received as literals (an int,
    and _sqlite_time's digits), then per row fix_time, lon, lat, speed, direction."""
    if not re.fullmatch(r"[0-9: .-]+", server):
        raise ValueError(server)
    return (
        f"INSERT INTO vehicle_fixes ({_COLUMNS}) VALUES ({int(tracker_id)}, ?, '{server}', "
        "?, ?, ?, ?, 0, 0, 0, NULL, 1, 0) ON CONFLICT DO NOTHING"
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


# --- a plain batch as columns ---------------------------------------------------------------
# A phone's or a platform's batch is mostly thousands of plain positions ({time: epoch s, lat,
# lon, speed, direction}). Those are checked and filtered as whole columns (numpy) and written
# in one statement; anything else in a batch (other fields, text times, a fix behind the
# tracker's last one, a jump) goes the way of one FixIn per position, which decides the same.

PLAIN_KEYS = frozenset({"time", "lat", "lon", "speed", "direction"})
_YEARS = (946_684_800, 4_102_444_800)  # 2000-01-01 ≤ t < 2100-01-01, UTC
_NUMBERS = frozenset({int, float})


def _column(items: list[dict], key: str, default: float | None) -> np.ndarray | None:
    values = list(map(dict.get, items, repeat(key), repeat(default)))  # no Python call a fix
    if not set(map(type, values)) <= _NUMBERS:  # a bool, a text, a None: the long way
        return None
    return np.asarray(values, dtype=float)


def plain_columns(items: list[dict]) -> dict[str, np.ndarray] | None:
    """The batch as columns when every position is plain and readable, else None."""
    if not items or not set().union(*map(dict.keys, items)) <= PLAIN_KEYS:
        return None
    columns = {
        "time": _column(items, "time", None),
        "lat": _column(items, "lat", None),
        "lon": _column(items, "lon", None),
        "speed": _column(items, "speed", 0.0),
        "direction": _column(items, "direction", 0.0),
    }
    if any(c is None for c in columns.values()):
        return None
    t = columns["time"]
    t = np.where(t > 1e11, t / 1000, t)  # milliseconds, as some apps send
    columns["time"] = t
    ok = (
        np.isfinite(t).all()
        and ((t >= _YEARS[0]) & (t < _YEARS[1])).all()
        and ((columns["lat"] >= -90) & (columns["lat"] <= 90)).all()
        and ((columns["lon"] >= -180) & (columns["lon"] <= 180)).all()
        and ((columns["speed"] >= 0) & (columns["speed"] <= 1000)).all()
        and ((columns["direction"] >= 0) & (columns["direction"] <= 360)).all()
    )
    return columns if ok else None


def store_plain(
    session: Session, tracker: Tracker, columns: dict[str, np.ndarray]
) -> Stored | None:
    """`store` for a plain batch (plain_columns), deciding as `keep` does; None (nothing
    written) when the batch needs keep()'s way: a fix not after the tracker's last, a jump."""
    now = utcnow()
    settings = get_settings()
    received = len(columns["time"])
    # in time order (equal times: the first sent first), then whole seconds, as keep() does
    order = np.argsort(columns["time"], kind="stable")
    t = np.floor(columns["time"][order])
    lat, lon = columns["lat"][order], columns["lon"][order]
    first = np.ones(len(t), dtype=bool)
    first[1:] = t[1:] != t[:-1]
    kept = first & (t <= now.timestamp() + settings.gps_future_seconds)
    kept &= ~((lat == 0) & (lon == 0))
    idx = np.flatnonzero(kept)
    last = tracker.last_fix_time
    if len(idx) and last is not None and last.timestamp() >= t[idx[0]]:
        return None
    if len(idx):
        lats, lons, ts = lat[idx], lon[idx], t[idx]
        if last is not None:
            lats = np.concatenate([[tracker.last_lat], lats])
            lons = np.concatenate([[tracker.last_lon], lons])
            ts = np.concatenate([[last.timestamp()], ts])
        if len(ts) > 1:
            speed = distances_m(lats[:-1], lons[:-1], lats[1:], lons[1:]) / np.diff(ts) * 3.6
            # a jump, or an implied speed within a hair of the limit (where numpy's and
            # math's last bits could decide differently): the long way
            if (speed > settings.gps_max_speed_kmh * (1 - 1e-9)).any():
                return None
    rows = order[idx]
    speeds, directions = columns["speed"][rows], columns["direction"][rows]
    if not len(rows):
        return Stored(received=received, stored=0)
    times = t[idx].astype("int64")
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        server = _sqlite_time(now)
        # "2026-11-20T08:00:00" → "2026-11-20 08:00:00.000000", as UTCDateTime writes it
        iso = ".000000|".join(np.datetime_as_string(times.astype("datetime64[s]")).tolist())
        text = (iso + ".000000").replace("T", " ").split("|")
        # what is the same for every row (the tracker, the time received, the plain fields'
        # defaults) written once into the statement, the five columns that vary bound per row
        conn.exec_driver_sql(
            _sqlite_plain_insert(tracker.id, server),
            list(
                zip(
                    text,
                    lon[idx].tolist(),
                    lat[idx].tolist(),
                    speeds.tolist(),
                    (np.round(directions).astype(int) % 360).tolist(),
                    strict=True,
                )
            ),
        )
    else:
        at = dt.datetime.fromtimestamp
        fixes = [
            FixIn(at(w, dt.UTC), lo, la, sp, round(di) % 360)
            for w, lo, la, sp, di in zip(
                times.tolist(),
                lon[idx].tolist(),
                lat[idx].tolist(),
                speeds.tolist(),
                directions.tolist(),
                strict=True,
            )
        ]
        _write(session, now, [(tracker.id, fixes)])
    newest = int(times[-1])
    newest_at = dt.datetime.fromtimestamp(newest, dt.UTC)
    if last is None or newest_at > last:
        values = {
            "last_fix_time": newest_at,
            "last_lon": float(lon[idx][-1]),
            "last_lat": float(lat[idx][-1]),
            "last_speed": float(speeds[-1]),
        }
        table = Tracker.__table__
        conn.execute(update(table).where(table.c.id == tracker.id).values(**values))
        for key, value in values.items():
            set_committed_value(tracker, key, value)
    return Stored(received=received, stored=len(rows))


def tracker_for_update(session: Session, tracker_id: int) -> Tracker:
    return session.scalars(select(Tracker).where(Tracker.id == tracker_id)).one()
