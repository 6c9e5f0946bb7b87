"""Track, trips, stops and summary over the API, from fixes that came in by the HTTP ingest."""

import io

from openpyxl import load_workbook

from civicgrid.vehicles import service
from tests.factories import STREET_A, login, small_geography, user
from tests.vehicles.test_motion import at


def day_of_fixes(client, session):
    small_geography(session)
    user(session, "lh", ["handler"], STREET_A)
    vehicle = service.create_vehicle(session, plate="黑A1", type_code="sweeper", unit_code=STREET_A)
    token = service.create_tracker(
        session, terminal_id="phone-1", protocol="http", vehicle_id=vehicle.id
    ).token
    points = [at(t, 0) for t in range(0, 601, 60)]
    points += [at(660, 500, 30), at(720, 1000, 30), at(780, 1500, 30), at(840, 2000, 30)]
    points += [at(t, 2000) for t in range(900, 1501, 60)]
    body = [
        {"time": p.time.isoformat(), "lon": p.lon, "lat": p.lat, "speed": p.speed} for p in points
    ]
    r = client.post("/api/v1/gps/fixes", json=body, headers={"X-Device-Token": token})
    assert r.json()["stored"] == len(points)
    return vehicle.id


def test_anonymous_gets_401(client, session):
    assert client.get("/api/v1/vehicles/1/report", params={"day": "2026-11-29"}).status_code == 401


def test_report_of_a_day_matches_the_hand_computation(client, session):
    vehicle_id = day_of_fixes(client, session)
    login(client, "lh")
    r = client.get(f"/api/v1/vehicles/{vehicle_id}/report", params={"day": "2026-11-29"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["fixes"] == 26
    (trip,) = data["trips"]
    assert (trip["start_time"], trip["end_time"]) == (
        "2026-11-29T08:10:00+08:00",
        "2026-11-29T08:17:00+08:00",
    )
    assert (trip["distance_m"], trip["duration_s"], trip["max_speed_kmh"]) == (2000.0, 420, 30.0)
    assert trip["average_speed_kmh"] == round(2000 / 420 * 3.6, 2) and not trip["open"]
    assert [(s["duration_s"], s["open"]) for s in data["stops"]] == [(600, False), (480, True)]
    assert data["summary"] == {
        "distance_m": 2000.0,
        "moving_s": 420,
        "parked_s": 1080,
        "max_speed_kmh": 30.0,
        "average_speed_kmh": round(2000 / 420 * 3.6, 2),
        "trips": 1,
        "stops": 2,
    }
    track = client.get(f"/api/v1/vehicles/{vehicle_id}/track", params={"day": "2026-11-29"})
    assert len(track.json()["points"]) == 26
    r = client.get(f"/api/v1/vehicles/{vehicle_id}/report.xlsx", params={"day": "2026-11-29"})
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["概要", "行程", "停车"]
    assert book["行程"].max_row == 2 and book["停车"].max_row == 3
    # the day before has nothing
    empty = client.get(f"/api/v1/vehicles/{vehicle_id}/report", params={"day": "2026-11-28"})
    assert empty.json()["fixes"] == 0 and empty.json()["trips"] == []


def test_bad_periods_are_400(client, session):
    vehicle_id = day_of_fixes(client, session)
    login(client, "lh")
    url = f"/api/v1/vehicles/{vehicle_id}/report"
    assert client.get(url).status_code == 400
    assert client.get(url, params={"day": "1999-01-01"}).status_code == 400
    assert client.get(url, params={"day": "2026-13-01"}).status_code == 400
    r = client.get(url, params={"from": "2026-11-01T00:00", "to": "2026-12-15T00:00"})
    assert r.status_code == 400 and "31" in r.json()["detail"]
    assert client.get(url, params={"from": "2026-11-02", "to": "2026-11-01"}).status_code == 400
    assert (
        client.get("/api/v1/vehicles/999/report", params={"day": "2026-11-29"}).status_code == 404
    )


def test_live_positions_name_plate_and_type(client, session):
    day_of_fixes(client, session)
    login(client, "lh")
    (live,) = client.get("/api/v1/vehicles/live").json()
    assert (live["plate"], live["type"], live["speed"]) == ("黑A1", "sweeper", 0.0)
    assert live["time"].startswith("2026-11-29T00:25:00")
