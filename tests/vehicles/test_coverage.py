"""Collection points, road coverage and idling (shared/reference/coverage.md), hand-computed:
fixes on one meridian, windows in local time (UTC+8)."""

import datetime as dt
import math

import pytest
from sqlalchemy import select

from civicgrid.config import get_settings
from civicgrid.kit.timefmt import local_zone
from civicgrid.vehicles import coverage, ingest, service
from civicgrid.vehicles.geodesy import EARTH_RADIUS_M
from civicgrid.vehicles.models import CollectionCheck
from civicgrid.vehicles.motion import Point
from tests.factories import POINT_A, STREET_A, login, user, world

LON, LAT = POINT_A


def local(day: int, hh: int, mm: int, ss: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hh, mm, ss, tzinfo=local_zone())


def north(metres: float) -> float:
    return LAT + math.degrees(metres / EARTH_RADIUS_M)


def feed(session, tracker, fixes):
    stored = ingest.store(session, tracker, fixes)
    assert stored.stored == len(fixes)


def truck(session, plate="黑A5", kind="garbage_truck"):
    vehicle = service.create_vehicle(session, plate=plate, type_code=kind, unit_code=STREET_A)
    tracker = service.create_tracker(
        session, terminal_id=f"t-{plate[-1]}", protocol="osmand", vehicle_id=vehicle.id
    ).tracker
    return vehicle, tracker


def stay(start: dt.datetime, seconds: int, metres_north: float = 0.0, every: int = 30):
    return [
        ingest.FixIn(fix_time=start + dt.timedelta(seconds=s), lon=LON, lat=north(metres_north))
        for s in range(0, seconds + 1, every)
    ]


def test_windows_of_the_two_rules():
    assert coverage.window("夜产晨清", dt.date(2026, 11, 29)) == (local(28, 20, 0), local(29, 6, 0))
    assert coverage.window("日产即清", dt.date(2026, 11, 29)) == (
        local(29, 0, 0),
        local(30, 0, 0),
    )


def test_a_visit_is_a_run_within_30_m_lasting_60_s():
    t0 = local(29, 5, 0)
    fixes = [
        Point(t0 + dt.timedelta(seconds=s), LON, north(m))
        for s, m in [
            (0, 100),
            (30, 25),
            (60, 10),
            (90, 29),
            (120, 80),  # run 30–90 s: 60 s → a visit
            (150, 5),
            (180, 5),
            (200, 200),
        ]
    ]  # run 150–180 s: 30 s → none
    assert coverage.visits(fixes, LON, LAT) == [t0 + dt.timedelta(seconds=30)]
    # and the contract's numbers are settings: a 30 s stay counts, a 25 m radius ends the
    # first run at 90 s (29 m away), so the first visit is 30–60 s and too short for 60 s
    shorter = get_settings().model_copy(update={"coverage_visit_min_s": 30.0})
    assert coverage.visits(fixes, LON, LAT, shorter) == [
        t0 + dt.timedelta(seconds=30),
        t0 + dt.timedelta(seconds=150),
    ]
    narrower = get_settings().model_copy(update={"coverage_visit_radius_m": 26.0})
    assert coverage.visits(fixes, LON, LAT, narrower) == []


def test_a_point_missed_by_one_minute_opens_exactly_one_case(session):
    world(session)
    settings = get_settings()
    vehicle, tracker = truck(session)
    point = coverage.create_point(
        session,
        code="P1",
        name="通天街收集点",
        lon=LON,
        lat=LAT,
        rule="夜产晨清",
        plates=[vehicle.plate],
    )
    point.created_at = local(27, 12, 0)
    # day 28: a visit 05:58:30–05:59:30 (in the window); day 29: 06:00:00–06:01:00 (one minute
    # late: its time is the window's end, which is outside)
    feed(session, tracker, stay(local(28, 5, 58, 30), 60))
    feed(session, tracker, stay(local(29, 6, 0), 60))
    result = coverage.check_all(session, settings, now=local(29, 6, 10))
    assert result == {"served": 1, "cases": 1}
    checks = {c.day.day: c for c in session.scalars(select(CollectionCheck))}
    assert checks[28].served and checks[28].visit_time == local(28, 5, 58, 30)
    assert not checks[29].served and checks[29].case_code
    # the job again, later: nothing more
    assert coverage.check_all(session, settings, now=local(29, 7, 0)) == {"served": 0, "cases": 0}
    from civicgrid.cases import queries as case_queries

    case = case_queries.case_by_code(session, checks[29].case_code)
    assert (case.source, case.category_code) == ("system", "06042")


def test_a_window_not_ended_is_not_decided(session):
    world(session)
    vehicle, _tracker = truck(session)
    point = coverage.create_point(
        session, code="P2", name="X", lon=LON, lat=LAT, rule="日产即清", plates=[vehicle.plate]
    )
    point.created_at = local(29, 1, 0)
    assert coverage.check_all(session, get_settings(), now=local(29, 23, 0)) == {
        "served": 0,
        "cases": 0,
    }


def test_road_coverage_counts_working_segments_within_20_m(session):
    world(session)
    sweeper, tracker = truck(session, "黑A6", "sweeper")
    road = coverage.create_road(
        session,
        code="R1",
        name="通天街",
        unit_code=STREET_A,
        coordinates=[[LON, north(0)], [LON, north(1000)]],
        type_codes=["sweeper"],
    )
    assert road.length_m == pytest.approx(1000, abs=2)  # UTM's scale near the zone's edge
    t0 = local(29, 9, 0)
    # 0 → 500 m at 6 km/h (5 m a 3 s... every 10 s: 16.67 m), then 500 → 1000 m at 20 km/h
    fixes = [
        ingest.FixIn(
            fix_time=t0 + dt.timedelta(seconds=10 * k), lon=LON, lat=north(k * 500 / 30), speed=6.0
        )
        for k in range(31)
    ]
    t1 = fixes[-1].fix_time
    fixes += [
        ingest.FixIn(
            fix_time=t1 + dt.timedelta(seconds=10 * k),
            lon=LON,
            lat=north(500 + k * 500 / 9),
            speed=20.0,
        )
        for k in range(1, 10)
    ]
    feed(session, tracker, fixes)
    result = coverage.vehicle_coverage(session, sweeper, dt.date(2026, 11, 29))
    (only,) = result["roads"]
    # the working part (0–500 m) and 20 m beyond its end: 520 m of 1,000
    assert only["covered_m"] == pytest.approx(520 * road.length_m / 1000, abs=1.5)
    unit = coverage.unit_coverage(session, STREET_A, dt.date(2026, 11, 29))
    assert unit["coverage"] == pytest.approx(0.52, abs=0.002)
    assert coverage.unit_coverage(session, STREET_A, dt.date(2026, 11, 28))["coverage"] == 0


def test_idling_in_working_hours_is_flagged_once():
    t0 = local(30, 9, 0)  # a Monday morning
    fixes = [Point(t0 + dt.timedelta(minutes=m), LON, north(m % 3 * 5)) for m in range(0, 41)]
    fixes.append(Point(t0 + dt.timedelta(minutes=41), LON, north(100)))
    (stretch,) = coverage.idle_stretches(fixes)
    assert stretch["start"].startswith("2026-11-30T09:00:00")
    assert stretch["end"].startswith("2026-11-30T09:41:00") and stretch["duration_s"] == 2460
    night = [Point(local(30, 2, 0) + dt.timedelta(minutes=m), LON, LAT) for m in range(60)]
    assert coverage.idle_stretches(night) == []


def test_points_and_roads_over_the_api(client, session):
    world(session)
    user(session, "boss2", ["admin"], "239901")
    truck(session)
    login(client, "boss2")
    r = client.post(
        "/api/v1/vehicles/collection-points",
        json={
            "code": "P9",
            "name": "收集点",
            "lon": LON,
            "lat": LAT,
            "rule": "日产即清",
            "plates": ["黑A5"],
        },
    )
    assert r.status_code == 201, r.text
    assert client.get("/api/v1/vehicles/collection-points").json()[0]["plates"] == ["黑A5"]
    bad = {"code": "P8", "name": "x", "lon": LON, "lat": LAT, "rule": "随便", "plates": []}
    assert client.post("/api/v1/vehicles/collection-points", json=bad).status_code == 400
    r = client.post(
        "/api/v1/vehicles/roads",
        json={
            "code": "R9",
            "name": "路",
            "unit": STREET_A,
            "types": ["sweeper"],
            "coordinates": [[LON, LAT], [LON, north(300)]],
        },
    )
    assert r.status_code == 201 and r.json()["length_m"] == pytest.approx(300, abs=1)
    r = client.get("/api/v1/vehicles/coverage", params={"unit": STREET_A, "day": "2026-11-29"})
    assert r.json()["coverage"] == 0 and r.json()["roads"][0]["code"] == "R9"


def test_the_coverage_page_shows_a_units_roads_and_points_as_computed(client, session):
    """/vehicles/coverage: the unit's road at the hand-computed 52 %, and each point's state as
    an independent reading of the fixes gives it (served in its window / missed)."""
    import re

    world(session)
    user(session, "disp2", ["dispatcher"], "239901")
    sweeper, sweeper_tracker = truck(session, "黑A6", "sweeper")
    lorry, lorry_tracker = truck(session, "黑A7", "garbage_truck")
    east = LON + 0.01  # the road, 780 m east of the points
    coverage.create_road(
        session,
        code="R1",
        name="通天街",
        unit_code=STREET_A,
        coordinates=[[east, north(0)], [east, north(1000)]],
        type_codes=["sweeper"],
    )
    t0 = local(29, 9, 0)
    feed(
        session,
        sweeper_tracker,
        [  # 0 → 500 m at 6 km/h: 520 m of the road covered (the 20 m buffer beyond its end)
            ingest.FixIn(
                fix_time=t0 + dt.timedelta(seconds=10 * k),
                lon=east,
                lat=north(k * 500 / 30),
                speed=6.0,
            )
            for k in range(31)
        ],
    )
    for code, rule in (("P1", "夜产晨清"), ("P2", "日产即清")):
        coverage.create_point(
            session, code=code, name=f"点{code}", lon=LON, lat=LAT, rule=rule, plates=["黑A7"]
        )
    # the lorry stays 90 s at the points at 05:00 on the 29th: in P1's window for the 29th
    # (28th 20:00 – 29th 06:00) and in P2's (the 29th); on the 28th both were missed
    feed(session, lorry_tracker, stay(local(29, 5, 0), 90))
    login(client, "disp2")
    page = client.get(f"/vehicles/coverage?unit={STREET_A}&day=2026-11-29")
    assert page.status_code == 200, page.text
    html = page.text
    (road_row,) = re.findall(r'<tr data-code="R1">(.*?)</tr>', html, re.S)
    assert re.findall(r">([\d.]+%?)</td>", road_row)[-1] == "52.0%"
    assert dict(re.findall(r'<tr data-code="(P\d)" data-state="(\w+)">', html)) == {
        "P1": "served",
        "P2": "served",
    }
    earlier = client.get(f"/vehicles/coverage?unit={STREET_A}&day=2026-11-28").text
    assert dict(re.findall(r'<tr data-code="(P\d)" data-state="(\w+)">', earlier)) == {
        "P1": "missed",
        "P2": "missed",
    }
    assert client.get("/vehicles/coverage?day=2026-13-01").status_code == 400


def test_covered_lengths_match_a_fine_buffer_of_the_segments():
    """The exact intervals (capsules crossed by road edges, boxes of segments in the tree)
    against shapely's union of the segments' buffers drawn with 256 segments a quarter circle:
    random roads and segments, zero-length segments and a vehicle standing still among them."""
    import random

    import numpy as np
    import shapely

    from civicgrid.vehicles.coverage import covered_lengths

    rng = random.Random(7)
    for trial in range(400):
        roads = [
            shapely.LineString([(rng.uniform(0, 200), rng.uniform(0, 200)) for _ in range(4)])
            for _ in range(rng.randint(1, 3))
        ]
        segments = np.array(
            [
                [[rng.uniform(-20, 220), rng.uniform(-20, 220)] for _ in range(2)]
                for _ in range(rng.randint(1, 40))
            ]
        )
        if trial % 7 == 0:
            segments[0, 1] = segments[0, 0]
        if trial % 13 == 0:
            segments[:] = segments[0, 0]
        reference = shapely.union_all(
            shapely.buffer(shapely.linestrings(segments), 20, quad_segs=256)
        )
        for road, ours in zip(roads, covered_lengths(roads, segments), strict=True):
            assert ours == pytest.approx(road.intersection(reference).length, abs=0.01), trial
