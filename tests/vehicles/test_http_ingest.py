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


def test_a_plain_batch_as_columns_stores_what_the_one_by_one_way_stores(session):
    """The columns' way (ingest.store_plain) against keep()'s, on random plain batches:
    fractional and millisecond times, repeated seconds, (0, 0), future fixes, jumps, and a
    tracker whose last fix is before, inside or after the batch."""
    import random

    from civicgrid.kit.db import utcnow
    from civicgrid.vehicles import http_ingest, ingest

    small_geography(session)
    rng = random.Random(11)
    now = int(utcnow().timestamp())
    fast_ways = 0
    for trial in range(60):
        pair = []
        for side in ("plain", "each"):
            vehicle = service.create_vehicle(
                session, plate=f"黑T{trial:03d}{side[0]}", type_code="sweeper", unit_code=STREET_A
            )
            pair.append(
                service.create_tracker(
                    session, terminal_id=f"p-{trial}-{side}", protocol="http", vehicle_id=vehicle.id
                ).tracker
            )
        base = now - 86_400
        if trial % 3:
            before = base + rng.choice([-600, 300, 10_000])
            for tracker in pair:
                ingest.store(
                    session,
                    tracker,
                    [http_ingest.fix_from({"time": before, "lat": 45.75, "lon": 126.65})],
                )
        items = []
        for k in range(rng.randint(1, 40)):
            t = base + k * rng.choice([1, 5, 10]) + rng.choice([0, 0, 0.4, 0.9])
            item = {
                "time": t * 1000 if trial % 5 == 0 else t,
                "lat": 45.75 + k * 1e-4,
                "lon": 126.65,
            }
            if rng.random() < 0.1:
                item["time"] = items[-1]["time"] if items else item["time"]
            if rng.random() < 0.05:
                item["lat"], item["lon"] = 0, 0
            if rng.random() < 0.05:
                item["time"] = now + 3_600
            if trial % 4 == 0 and rng.random() < 0.1:
                item["lat"] = 46.5  # a jump
            if rng.random() < 0.5:
                item["speed"] = rng.uniform(0, 60)
                item["direction"] = rng.choice([0, 45.5, 359.6, 360])
            items.append(item)
        plain = ingest.plain_columns(items)
        assert plain is not None
        got = ingest.store_plain(session, pair[0], plain)
        if got is None:
            got = ingest.store(session, pair[0], [http_ingest.fix_from(i) for i in items])
        else:
            fast_ways += 1
        want = ingest.store(session, pair[1], [http_ingest.fix_from(i) for i in items])
        assert (got.received, got.stored) == (want.received, want.stored), trial
        session.flush()
        rows = [
            [
                (f.fix_time, f.lon, f.lat, f.speed, f.direction, f.valid, f.backfill)
                for f in session.scalars(
                    select(Fix).where(Fix.tracker_id == tracker.id).order_by(Fix.fix_time)
                )
            ]
            for tracker in pair
        ]
        assert rows[0] == rows[1], trial
        session.refresh(pair[0])
        session.refresh(pair[1])
        assert (pair[0].last_fix_time, pair[0].last_lat, pair[0].last_speed) == (
            pair[1].last_fix_time,
            pair[1].last_lat,
            pair[1].last_speed,
        ), trial
    assert 10 <= fast_ways <= 50  # both ways were compared (a jump, a late batch: keep()'s)
