"""Named reads of vehicle tracks, for this domain's routes and for other domains (the command
centre's live map)."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.kit.db import epoch_seconds
from civicgrid.vehicles.models import Fix, Tracker, Vehicle, VehicleType
from civicgrid.vehicles.motion import Point


def tracker_ids_of_vehicle(session: Session, vehicle_id: int) -> list[int]:
    return list(session.scalars(select(Tracker.id).where(Tracker.vehicle_id == vehicle_id)))


def track(
    session: Session, tracker_ids: list[int], start: dt.datetime, end: dt.datetime
) -> list[Point]:
    """The stored fixes of these trackers in [start, end), in time order (one per second:
    when two trackers of a vehicle sent the same second, the first tracker's). The key
    (tracker_id, fix_time) is the index this walks."""
    if not tracker_ids:
        return []
    query = (
        select(epoch_seconds(Fix.fix_time), Fix.lon, Fix.lat, Fix.speed)
        .where(Fix.tracker_id.in_(tracker_ids), Fix.fix_time >= start, Fix.fix_time < end)
        .order_by(Fix.fix_time, Fix.tracker_id)
    )
    points: list[Point] = []
    last = None
    at, utc = dt.datetime.fromtimestamp, dt.UTC
    # through the connection: plain rows, without the ORM's loading of each
    for when, lon, lat, speed in session.connection().execute(query):
        if when == last:
            continue
        last = when
        points.append(Point(at(when, utc), lon, lat, speed))
    return points


def track_columns(
    session: Session, tracker_ids: list[int], start: dt.datetime, end: dt.datetime
) -> np.ndarray:
    """`track` as an array of rows (epoch seconds, lon, lat, speed), read without an object
    per fix: for reading many vehicle-days at once (a unit's road coverage)."""
    if not tracker_ids:
        return np.empty((0, 4))
    query = (
        select(epoch_seconds(Fix.fix_time), Fix.lon, Fix.lat, Fix.speed)
        .where(Fix.tracker_id.in_(tracker_ids), Fix.fix_time >= start, Fix.fix_time < end)
        .order_by(Fix.fix_time, Fix.tracker_id)
    )
    # the driver's rows as they are: the columns need no conversion
    rows = session.connection().execute(query).cursor.fetchall()
    out = np.array(rows, dtype=float).reshape(-1, 4)
    if len(tracker_ids) > 1 and len(out):  # one fix per second, the first tracker's
        out = out[np.concatenate([[True], out[1:, 0] != out[:-1, 0]])]
    return out


def track_rows(
    session: Session, tracker_ids: list[int], start: dt.datetime, end: dt.datetime
) -> list[tuple]:
    """(epoch seconds, lon, lat, speed, direction, alarm, backfill) of the fixes in
    [start, end)."""
    if not tracker_ids:
        return []
    query = (
        select(
            epoch_seconds(Fix.fix_time),
            Fix.lon,
            Fix.lat,
            Fix.speed,
            Fix.direction,
            Fix.alarm,
            Fix.backfill,
        )
        .where(Fix.tracker_id.in_(tracker_ids), Fix.fix_time >= start, Fix.fix_time < end)
        .order_by(Fix.fix_time, Fix.tracker_id)
    )
    return [tuple(r) for r in session.connection().execute(query)]


def live_positions(session: Session) -> list[dict]:
    """The last fix of every active tracker that has one: plate (or the person's tracker id),
    vehicle type, time, place and speed."""
    query = (
        select(
            Tracker.terminal_id,
            Tracker.person_id,
            Tracker.last_fix_time,
            Tracker.last_lon,
            Tracker.last_lat,
            Tracker.last_speed,
            Vehicle.id,
            Vehicle.plate,
            VehicleType.code,
            VehicleType.name,
        )
        .outerjoin(Vehicle, Vehicle.id == Tracker.vehicle_id)
        .outerjoin(VehicleType, VehicleType.id == Vehicle.type_id)
        .where(Tracker.active.is_(True), Tracker.last_fix_time.is_not(None))
        .order_by(Tracker.terminal_id)
    )
    return [
        {
            "terminal_id": r[0],
            "person_id": r[1],
            "time": r[2],
            "lon": r[3],
            "lat": r[4],
            "speed": r[5],
            "vehicle_id": r[6],
            "plate": r[7],
            "type": r[8],
            "type_name": r[9],
        }
        for r in session.execute(query)
    ]


def tracker_ids_of_person(session: Session, person_id: int) -> list[int]:
    """The trackers a person carries (a phone tracked as a person, not as a vehicle)."""
    return list(session.scalars(select(Tracker.id).where(Tracker.person_id == person_id)))


def person_track(
    session: Session, person_id: int, start: dt.datetime, end: dt.datetime
) -> list[Point]:
    """The fixes of a person's trackers in [start, end), in time order (work logs' route)."""
    return track(session, tracker_ids_of_person(session, person_id), start, end)
