"""Positions over HTTP: OsmAnd (Traccar Client) and JSON/NDJSON batches with a device token,
into the same store and through the same filters as the gateway."""

import datetime as dt

import orjson
from sqlalchemy import select

from civicgrid.vehicles import service
from civicgrid.vehicles.models import Fix
from tests.factories import STREET_A, small_geography, user

T0 = dt.datetime(2026, 11, 29, 0, 0, tzinfo=dt.UTC)


def setup(session):
    small_geography(session)
    vehicle = service.create_vehicle(session, plate="黑A1", type_code="sweeper", unit_code=STREET_A)
    service.create_tracker(session, terminal_id="osm-1", protocol="osmand", vehicle_id=vehicle.id)
    person = user(session, "zs", ["supervisor"], STREET_A)
    made = service.create_tracker(
        session, terminal_id="phone-zs", protocol="http", person_id=person.person_id
    )
    return made.token


def stored(session, terminal):
    tracker = service.get_tracker(session, terminal)
    return list(
        session.scalars(select(Fix).where(Fix.tracker_id == tracker.id).order_by(Fix.fix_time))
    )


def test_osmand_get_and_post_with_speed_in_knots(client, session):
    setup(session)
    t = int(T0.timestamp())
    r = client.get(
        "/api/v1/gps/osmand",
        params={
            "id": "osm-1",
            "lat": 45.75,
            "lon": 126.65,
            "timestamp": t,
            "speed": 10,
            "bearing": 90,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 1, "stored": 1, "dropped": 0}
    r = client.post(
        "/api/v1/gps/osmand",
        data={
            "id": "osm-1",
            "lat": "45.7501",
            "lon": "126.6501",
            "timestamp": str(t + 10),
            "altitude": "150",
        },
    )
    assert r.status_code == 200, r.text
    fixes = stored(session, "osm-1")
    assert [round(f.speed, 3) for f in fixes] == [18.52, 0.0]
    assert fixes[0].direction == 90 and fixes[1].altitude == 150


def test_osmand_refuses_unknown_ids_and_bad_positions(client, session):
    setup(session)
    assert (
        client.get(
            "/api/v1/gps/osmand", params={"id": "who", "lat": 1, "lon": 1, "timestamp": 1e9}
        ).status_code
        == 404
    )
    r = client.get(
        "/api/v1/gps/osmand", params={"id": "osm-1", "lat": 95, "lon": 1, "timestamp": 1764374400}
    )
    assert r.status_code == 400 and "位置无效" in r.json()["detail"]


def test_json_and_ndjson_batches_with_the_filters(client, session):
    token = setup(session)
    items = [
        {"time": "2026-11-29T08:00:00+08:00", "lat": 45.75, "lon": 126.65, "speed": 5},
        {"time": "2026-11-29T08:00:00+08:00", "lat": 45.75, "lon": 126.65},  # duplicate
        {"time": int(T0.timestamp()) + 10, "lat": 0, "lon": 0},  # zero
        {"time": int(T0.timestamp()) + 20, "lat": 45.85, "lon": 126.65},  # 11 km in 20 s: jump
        {"time": int(T0.timestamp()) + 30, "lat": 45.7502, "lon": 126.6502, "valid": False},
        {"time": "2099-01-01T00:00:00Z", "lat": 45.75, "lon": 126.65},  # future
        {"time": int(T0.timestamp()) + 40, "lat": 45.7503, "lon": 126.6503, "direction": 45},
    ]
    r = client.post(
        "/api/v1/gps/fixes",
        content=orjson.dumps(items),
        headers={"X-Device-Token": token, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 7, "stored": 2, "dropped": 5}
    ndjson = b"\n".join(
        orjson.dumps({"time": int(T0.timestamp()) + 50 + i, "lat": 45.7504, "lon": 126.6504})
        for i in range(3)
    )
    r = client.post(
        "/api/v1/gps/fixes",
        content=ndjson,
        headers={"X-Device-Token": token, "Content-Type": "application/x-ndjson"},
    )
    assert r.json()["stored"] == 3
    fixes = stored(session, "phone-zs")
    assert [int((f.fix_time - T0).total_seconds()) for f in fixes] == [0, 40, 50, 51, 52]


def test_a_batch_with_a_bad_position_is_refused_whole(client, session):
    token = setup(session)
    assert client.post("/api/v1/gps/fixes", json=[]).status_code == 422  # no token
    r = client.post("/api/v1/gps/fixes", json=[], headers={"X-Device-Token": "nope"})
    assert r.status_code == 401
    items = [
        {"time": "2026-11-29T08:00:00+08:00", "lat": 45.75, "lon": 126.65},
        {"time": "2026-11-29T08:00:10", "lat": 45.75, "lon": 126.65},
        {"lat": 45.75, "lon": 126.65},
        {"time": 1764374400, "lat": "x", "lon": 126.65},
    ]
    r = client.post("/api/v1/gps/fixes", json=items, headers={"X-Device-Token": token})
    assert r.status_code == 400
    assert [p["index"] for p in r.json()["problems"]] == [1, 2, 3]
    assert stored(session, "phone-zs") == []
    r = client.post(
        "/api/v1/gps/fixes",
        content=b"{not json",
        headers={"X-Device-Token": token, "Content-Type": "application/json"},
    )
    assert r.status_code == 400


def test_traccar_client_json(client, session):
    setup(session)
    body = {
        "device_id": "osm-1",
        "location": {
            "timestamp": "2026-11-29T00:00:00.000Z",
            "coords": {
                "latitude": 45.75,
                "longitude": 126.65,
                "speed": 5.0,
                "heading": 180,
                "altitude": 140,
            },
        },
    }
    r = client.post("/api/v1/gps/osmand", json=body)
    assert r.status_code == 200, r.text
    (fix,) = stored(session, "osm-1")
    assert round(fix.speed, 6) == 18.0 and fix.direction == 180  # 5 m/s
    assert client.post("/api/v1/gps/osmand", json={"device_id": "osm-1"}).status_code == 400
