"""Geofences: a polygon, a circle and a buffered road line; enter and exit events."""

import datetime as dt
import math

from civicgrid.vehicles import geofences, ingest, service
from civicgrid.vehicles.geodesy import EARTH_RADIUS_M
from tests.factories import STREET_A, login, small_geography, user

LON, LAT = 126.65, 45.75
T0 = dt.datetime(2026, 11, 20, 0, 0, tzinfo=dt.UTC)  # 08:00 local


def north(m: float) -> float:
    return LAT + math.degrees(m / EARTH_RADIUS_M)


def east(m: float) -> float:
    return LON + math.degrees(m / (EARTH_RADIUS_M * math.cos(math.radians(LAT))))


def test_enter_and_exit_of_each_kind(client, session):
    small_geography(session)
    user(session, "boss", ["admin"], "239901")
    vehicle = service.create_vehicle(session, plate="黑A1", type_code="sweeper", unit_code=STREET_A)
    tracker = service.create_tracker(
        session, terminal_id="g1", protocol="osmand", vehicle_id=vehicle.id
    ).tracker
    login(client, "boss")
    fences = [
        {
            "code": "C",
            "name": "站点",
            "kind": "circle",
            "coordinates": [[LON, north(550)]],
            "distance_m": 120,
        },
        {
            "code": "P",
            "name": "广场",
            "kind": "polygon",
            "coordinates": [
                [east(-50), north(850)],
                [east(50), north(850)],
                [east(50), north(1150)],
                [east(-50), north(1150)],
            ],
        },
        {
            "code": "L",
            "name": "东西路",
            "kind": "line",
            "coordinates": [[east(-500), north(1600)], [east(500), north(1600)]],
        },
    ]
    for body in fences:
        r = client.post("/api/v1/vehicles/geofences", json=body)
        assert r.status_code == 201, r.text
    assert (
        client.post(
            "/api/v1/vehicles/geofences", json={**fences[0], "code": "X", "distance_m": None}
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/api/v1/vehicles/geofences", json={**fences[1], "code": "Y", "kind": "star"}
        ).status_code
        == 400
    )
    # north along the meridian, 100 m a minute, 0 → 2000 m
    fixes = [
        ingest.FixIn(fix_time=T0 + dt.timedelta(minutes=k), lon=LON, lat=north(100 * k), speed=6)
        for k in range(21)
    ]
    ingest.store(session, tracker, fixes)
    r = client.get(f"/api/v1/vehicles/{vehicle.id}/geofence-events", params={"day": "2026-11-20"})
    got = [(e["geofence"], e["event"], e["time"][11:16]) for e in r.json()]
    # every point clear of the edges (a metre here on the sphere is 0.998 m on the ellipsoid):
    # the circle (550 ± 120) holds 500 and 600, the polygon (850–1150) 900–1100, the line's
    # 20 m buffer (at 1600) only 1600
    assert got == [
        ("C", "enter", "08:05"),
        ("C", "exit", "08:07"),
        ("P", "enter", "08:09"),
        ("P", "exit", "08:12"),
        ("L", "enter", "08:16"),
        ("L", "exit", "08:17"),
    ]
    assert len(geofences.fences(session)) == 3
