"""Trips and stops (shared/reference/trips.md) against days computed by hand. Fixes lie on one
meridian, so that each haversine leg is exactly R·Δφ: distances are whole metres."""

import datetime as dt
import math

import pytest

from civicgrid.vehicles.geodesy import EARTH_RADIUS_M
from civicgrid.vehicles.motion import Point, Settings, summary, trips_and_stops

T0 = dt.datetime(2026, 11, 29, 0, 0, tzinfo=dt.UTC)
LAT0, LON = 45.75, 126.65


def at(seconds: float, metres_north: float, speed: float = 0.0) -> Point:
    return Point(
        time=T0 + dt.timedelta(seconds=seconds),
        lon=LON,
        lat=LAT0 + math.degrees(metres_north / EARTH_RADIUS_M),
        speed=speed,
    )


def secs(when: dt.datetime) -> int:
    return round((when - T0).total_seconds())


def test_parked_drive_parked_day():
    # parked 0–600 s; 500 m a minute from 660 to 840 s (30 km/h); parked again to 1500 s
    points = [at(t, 0) for t in range(0, 601, 60)]
    points += [at(660, 500, 30), at(720, 1000, 30), at(780, 1500, 30), at(840, 2000, 30)]
    points += [at(t, 2000) for t in range(900, 1501, 60)]
    trips, stops = trips_and_stops(points)
    # the trip starts at 600 s: the step 600→660 s (500 m in 60 s) is faster than 200/180 m/s
    # and later than the initial state; it stops at 1020 s, the first fix whose last 180 s
    # (back to 840 s) lie within 200 m
    assert len(trips) == 1
    trip = trips[0]
    assert (secs(trip.start.time), secs(trip.end.time)) == (600, 1020)
    assert trip.distance == pytest.approx(2000, abs=1e-6)
    assert trip.duration == 420
    assert trip.average_speed == pytest.approx(2000 / 420 * 3.6)
    assert trip.max_speed == 30 and not trip.open
    assert [(secs(s.start), secs(s.end), s.duration, s.open) for s in stops] == [
        (0, 600, 600, False),
        (1020, 1500, 480, True),
    ]
    total = summary(points, trips, stops)
    assert (total.moving, total.parked, total.trips, total.stops) == (420, 1080, 1, 2)
    assert total.distance == pytest.approx(2000, abs=1e-6) and total.max_speed == 30


def test_a_gap_while_moving_is_a_trip_of_its_own():
    # moving from the start (speed 20); a 4,000 s gap covering 10 km (2.5 m/s > 200/180)
    points = [at(0, 0, 20), at(60, 300, 20), at(120, 600, 20)]
    points += [at(4120, 10600), at(4180, 10600), at(4240, 10600), at(4300, 10600)]
    trips, stops = trips_and_stops(points)
    assert [(secs(t.start.time), secs(t.end.time), round(t.distance, 6)) for t in trips] == [
        (0, 120, 600),
        (120, 4120, 10000),
    ]
    assert trips[0].average_speed == pytest.approx(18.0)
    assert trips[1].average_speed == pytest.approx(9.0)
    assert trips[1].max_speed == 20  # its start fix's speed
    assert [(secs(s.start), secs(s.end), s.open) for s in stops] == [(4120, 4300, True)]


def test_a_gap_that_covers_little_does_not_split():
    # 100 m over 2 hours while moving: no gap trip; the vehicle then stops as usual
    points = [at(0, 0, 20), at(60, 300, 20), at(7260, 400), at(7320, 400), at(7380, 400)]
    trips, _stops = trips_and_stops(points, Settings())
    assert len(trips) == 1 and secs(trips[0].end.time) == 7260


def test_a_trip_still_running_at_the_last_fix_is_open():
    points = [at(0, 0), at(60, 0), at(120, 300, 18), at(180, 600, 18), at(240, 900, 18)]
    trips, stops = trips_and_stops(points)
    assert len(trips) == 1 and trips[0].open
    assert (secs(trips[0].start.time), secs(trips[0].end.time)) == (60, 240)
    assert trips[0].distance == pytest.approx(900, abs=1e-6)
    assert [(secs(s.start), secs(s.end), s.open) for s in stops] == [(0, 60, False)]


def test_jitter_below_min_distance_never_starts_a_trip():
    points = [at(t, (t // 60) % 2 * 150) for t in range(0, 3600, 60)]
    trips, stops = trips_and_stops(points)
    assert trips == [] and len(stops) == 1 and stops[0].duration == 3540


def test_the_start_moves_back_only_through_fast_steps():
    # creeping (50 m a minute: slower than 200/180 m/s) then fast: the start stays at the
    # first fast step's beginning
    points = [at(0, 0), at(60, 50), at(120, 100), at(180, 150), at(240, 700, 40), at(300, 1300, 40)]
    trips, _stops = trips_and_stops(points)
    # at 180 s: 150 m < 200 (still parked); at 240 s: 700 m → moving; back: 180→240 is fast,
    # 120→180 is slow
    assert secs(trips[0].start.time) == 180
