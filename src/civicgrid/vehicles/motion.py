"""Trips and stops (行程 · 停车) from a tracker's fixes, after shared/reference/trips.md (Traccar's
"new" motion logic, NewMotionProcessor and ReportUtils.slowTripsAndStops).

Pure functions over fixes in time order; distances by haversine (geodesy.distance_m), times in
seconds, speeds in km/h."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from civicgrid.vehicles.geodesy import distance_m

# 0.01 knots: Traccar's threshold for "moving" at the first fix
INITIAL_MOTION_KMH = 0.01 * 1.852


@dataclass(frozen=True, slots=True)
class Point:
    time: dt.datetime
    lon: float
    lat: float
    speed: float = 0.0  # km/h


@dataclass(frozen=True, slots=True)
class Settings:
    min_distance: float = 200.0  # m
    min_duration: float = 180.0  # s
    stop_gap: float = 3600.0  # s


@dataclass(slots=True)
class Trip:
    start: Point
    end: Point
    distance: float  # m
    duration: float  # s
    average_speed: float  # km/h
    max_speed: float  # km/h
    open: bool = False


@dataclass(slots=True)
class Stop:
    start: dt.datetime
    end: dt.datetime
    lon: float
    lat: float
    duration: float  # s
    open: bool = False


@dataclass(slots=True)
class Summary:
    distance: float  # m, every leg of the period
    moving: float  # s, the trips' durations
    parked: float  # s, the stops' durations
    max_speed: float  # km/h, the highest fix speed
    average_speed: float  # km/h, the trips' distance over their duration
    trips: int
    stops: int


def _seconds(a: Point, b: Point) -> float:
    return (b.time - a.time).total_seconds()


def _times(points: list[Point]) -> list[float]:
    """Each fix's time in seconds since the epoch (differences are _seconds)."""
    return [p.time.timestamp() for p in points]


def legs(points: list[Point]) -> list[float]:
    """The distance (m) from each fix to the next."""
    return [
        distance_m(a.lat, a.lon, b.lat, b.lon) for a, b in zip(points, points[1:], strict=False)
    ]


def events(
    points: list[Point], settings: Settings, times: list[float] | None = None
) -> tuple[bool, list[tuple[bool, int]]]:
    """The initial state (True: moving) and the motion events, each (moving, index of its fix),
    in order."""
    if not points:
        return False, []
    t = times if times is not None else _times(points)
    lats = [p.lat for p in points]
    lons = [p.lon for p in points]
    min_distance, min_duration = settings.min_distance, settings.min_duration
    min_speed = min_distance / min_duration  # m/s
    moving = points[0].speed > INITIAL_MOTION_KMH
    initial = moving
    found: list[tuple[bool, int]] = []
    event_index = 0  # the initial state counts as an event at the first fix
    window = 0  # the latest fix at least min_duration older than the current one
    for i in range(1, len(points)):
        lat, lon = lats[i], lons[i]
        gap = t[i] - t[i - 1]
        if moving and gap > settings.stop_gap:
            covered = distance_m(lats[i - 1], lons[i - 1], lat, lon)
            if covered >= min_distance and covered / gap > min_speed:
                found += [(False, i - 1), (True, i - 1), (False, i)]
                moving, event_index = False, i
                continue
        if moving:
            while window + 1 < i and t[i] - t[window + 1] >= min_duration:
                window += 1
            if t[i] - t[window] < min_duration:
                continue  # nothing that old yet: no stop can be decided
            for j in range(window, i):
                if distance_m(lats[j], lons[j], lat, lon) >= min_distance:
                    break
            else:
                found.append((False, i))
                moving, event_index = False, i
        elif distance_m(lats[event_index], lons[event_index], lat, lon) >= min_distance:
            start = i
            while start - 1 > event_index:
                step = t[start] - t[start - 1]
                if step <= 0 or (
                    distance_m(lats[start - 1], lons[start - 1], lats[start], lons[start]) / step
                    <= min_speed
                ):
                    break
                start -= 1
            found.append((True, start))
            moving, event_index = True, i
    return initial, found


def _trip(points: list[Point], a: int, b: int, legs_m: list[float], *, open_: bool = False) -> Trip:
    distance = sum(legs_m[a:b])
    duration = _seconds(points[a], points[b])
    return Trip(
        start=points[a],
        end=points[b],
        distance=distance,
        duration=duration,
        average_speed=distance / duration * 3.6 if duration > 0 else 0.0,
        max_speed=max(points[k].speed for k in range(a, b + 1)),
        open=open_,
    )


def _stop(points: list[Point], a: int, b: int, *, open_: bool = False) -> Stop:
    where = points[a]
    return Stop(
        start=where.time,
        end=points[b].time,
        lon=where.lon,
        lat=where.lat,
        duration=_seconds(where, points[b]),
        open=open_,
    )


def trips_and_stops(
    points: list[Point], settings: Settings = Settings(), legs_m: list[float] | None = None
) -> tuple[list[Trip], list[Stop]]:
    """The trips and stops of these fixes (time order). A trip or stop still running at the
    last fix ends there, marked open. A stop of no duration (between a trip that ends at the
    last fix before a gap and the gap's own trip) is not a stop."""
    if not points:
        return [], []
    initial, found = events(points, settings)
    if legs_m is None:
        legs_m = legs(points)
    trips: list[Trip] = []
    stops: list[Stop] = []
    moving, since = initial, 0
    for now_moving, index in found:
        if now_moving == moving:
            continue
        if moving:
            trips.append(_trip(points, since, index, legs_m))
        elif index > since and _seconds(points[since], points[index]) > 0:
            stops.append(_stop(points, since, index))
        moving, since = now_moving, index
    last = len(points) - 1
    if moving:
        trips.append(_trip(points, since, last, legs_m, open_=True))
    elif last > since or not found:
        stops.append(_stop(points, since, last, open_=True))
    return trips, stops


def summary(
    points: list[Point], trips: list[Trip], stops: list[Stop], legs_m: list[float] | None = None
) -> Summary:
    moving = sum(t.duration for t in trips)
    trip_distance = sum(t.distance for t in trips)
    return Summary(
        distance=sum(legs_m if legs_m is not None else legs(points)),
        moving=moving,
        parked=sum(s.duration for s in stops),
        max_speed=max((p.speed for p in points), default=0.0),
        average_speed=trip_distance / moving * 3.6 if moving > 0 else 0.0,
        trips=len(trips),
        stops=len(stops),
    )
