"""The snow season's routes: roles, the deadline table's edit, the GeoJSON import (malformed
geometry is 422, never 500), fields, tickets, reports with a photo, the daily report."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests.factories import SITE, STREET_A, STREET_B, login, world
from tests.images import jpeg
from tests.snowfields.test_snowfall import LON0, ll, square

API = "/api/v1/snow"


def feature(code, coords, cls="A", unit=STREET_A, **props):
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": {
            "code": code,
            "name": f"路{code}",
            "class": cls,
            "unit": unit,
            "width_m": 12,
            **props,
        },
    }


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.fixture()
def lead(session, client):
    world(session)
    login(client, "lead")
    client.headers.update(SITE)
    return client


def test_the_table_is_read_by_staff_and_edited_by_leaders(session, client):
    world(session)
    login(client, "disp")
    client.headers.update(SITE)
    rows = client.get(f"{API}/limits").json()
    assert len(rows) == 18 and rows[0]["grade"] == "小雪"
    r = client.put(f"{API}/limits/暴雪/A", json={"clear_hours": 30, "haul_hours": 60})
    assert r.status_code == 403
    client.post("/api/v1/auth/logout")
    login(client, "lead")
    r = client.put(f"{API}/limits/暴雪/A", json={"clear_hours": 30, "haul_hours": 60})
    assert r.status_code == 200 and r.json()["updated_by"] == "lead"
    assert (
        client.put(f"{API}/limits/冰雹/A", json={"clear_hours": 3, "haul_hours": 6}).status_code
        == 404
    )
    event = client.post(
        f"{API}/events",
        json={
            "name": "暴雪",
            "started_at": "2026-11-20T00:00:00+08:00",
            "snow_end_at": "2026-11-20T06:00:00+08:00",
            "precipitation_mm": 15,
        },
    ).json()
    assert event["grade"] == "暴雪"
    a = [d for d in event["deadlines"] if d["street_class"] == "A"][0]
    assert a["clear_by"].startswith("2026-11-21T04:00:00") or a["clear_by"].startswith(
        "2026-11-20T22:00:00"
    )  # 06:00 +08:00 + 30 h = 21 12:00 +08:00 = 21 04:00 UTC


def test_handlers_cannot_declare(session, client):
    world(session)
    login(client, "ha")
    client.headers.update(SITE)
    r = client.post(
        f"{API}/events",
        json={"name": "x", "started_at": "2026-11-20T00:00:00+08:00", "grade": "中雪"},
    )
    assert r.status_code == 403


def test_a_forecast_publishes_a_gathering_warning(session, lead):
    from civicgrid.notices import service as notices_service

    r = lead.post(
        f"{API}/events",
        json={
            "name": "预报降雪",
            "started_at": "2026-11-20T00:00:00+08:00",
            "grade": "大雪",
            "forecast_at": "2026-11-20T08:00:00+08:00",
        },
    )
    assert r.status_code == 201
    notice = r.json()["gather_notice_id"]
    assert notice is not None
    shown = notices_service.get(session, notice)
    assert "07:00" in shown.title and shown.state == "published"


def test_import_sections_from_geojson(lead):
    data = collection(
        feature("R1", [ll(0, 0), ll(500, 0)], open_first=True),
        feature("R2", [ll(0, 100), ll(400, 100)], cls="C", unit=STREET_B),
    )
    r = lead.post(f"{API}/sections/import", json=data)
    assert r.status_code == 200, r.text
    assert r.json() == {"imported": 2, "codes": ["R1", "R2"]}
    rows = {s["code"]: s for s in lead.get(f"{API}/sections").json()}
    assert rows["R1"]["open_first"] is True and rows["R2"]["street_class"] == "C"
    assert rows["R1"]["length_m"] == pytest.approx(500, rel=0.01)
    assert rows["R1"]["area_m2"] == pytest.approx(rows["R1"]["length_m"] * 12, abs=0.1)


@pytest.mark.parametrize(
    "geometry",
    [
        None,
        {"type": "Point", "coordinates": [LON0, 45.7]},
        {"type": "LineString", "coordinates": [[LON0, 45.7]]},
        {"type": "LineString", "coordinates": [[LON0, 45.7], [LON0, 45.7]]},
        {"type": "LineString", "coordinates": [[LON0, 45.7], [LON0]]},
        {"type": "LineString", "coordinates": [[LON0, 45.7], ["a", "b"]]},
        {"type": "LineString", "coordinates": [[LON0, 45.7], [400.0, 95.0]]},
        {"type": "LineString", "coordinates": "nope"},
        {"type": "LineString", "coordinates": [[LON0, 45.7], [True, 45.8]]},
    ],
)
def test_malformed_geometry_is_422(lead, geometry):
    bad = {
        "type": "Feature",
        "geometry": geometry,
        "properties": {"code": "X", "class": "A", "unit": STREET_A, "width_m": 10},
    }
    r = lead.post(
        f"{API}/sections/import", json=collection(feature("OK", [ll(0, 0), ll(9, 0)]), bad)
    )
    assert r.status_code == 422, r.text
    assert lead.get(f"{API}/sections").json() == []  # all or nothing


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"type": "FeatureCollection"},
        {"type": "FeatureCollection", "features": []},
        {"type": "FeatureCollection", "features": [1]},
    ],
)
def test_malformed_collections_are_422(lead, body):
    assert lead.post(f"{API}/sections/import", json=body).status_code == 422


@pytest.mark.parametrize(
    "polygon",
    [
        [[LON0, 45.7], [LON0 + 0.001, 45.701], [LON0 + 0.001, 45.7], [LON0, 45.701]],  # a bow tie
        [[LON0, 45.7], [LON0, 45.7], [LON0, 45.7]],
        [[LON0, 45.7], [LON0 + 0.001, 45.7], [LON0 + 0.002, 45.7]],  # no area
        [[LON0, 45.7], [LON0 + 0.001, 45.7], [LON0 + 0.001, 145.7]],
    ],
)
def test_malformed_fields_are_422(lead, polygon):
    r = lead.put(f"{API}/fields/F1", json={"name": "场", "polygon": polygon, "capacity_m3": 100})
    assert r.status_code == 422, r.text


def test_fields_tickets_surveys_reports_and_the_daily_report(lead):
    r = lead.put(
        f"{API}/fields/F1",
        json={
            "name": "华茂大道卸雪场",
            "polygon": square(875, 150),
            "capacity_m3": 1000,
            "kind": "clean",
            "hours": "00:00-24:00",
            "lanes": 2,
        },
    )
    assert r.status_code == 200, r.text
    lead.post(f"{API}/sections/import", json=collection(feature("R1", [ll(0, 0), ll(500, 0)])))
    event = lead.post(
        f"{API}/events",
        json={
            "name": "中雪",
            "started_at": "2026-11-20T00:00:00+08:00",
            "snow_end_at": "2026-11-20T04:00:00+08:00",
            "grade": "中雪",
            "depth_m": 0.01,
        },
    ).json()
    base = f"{API}/events/{event['id']}"
    r = lead.post(
        f"{base}/tickets",
        json={
            "field": "F1",
            "plate": "黑A 12345",
            "volume_m3": 18,
            "entered_at": "2026-11-20T09:00:00+08:00",
            "section": "R1",
        },
    )
    assert r.status_code == 201 and r.json()["plate"] == "黑A12345"
    trips = lead.get(f"{base}/trips").json()
    assert [(t["plate"], t["field"], t["section"], t["source"]) for t in trips] == [
        ("黑A12345", "F1", "R1", "ticket")
    ]
    r = lead.post(
        "/api/v1/snow/fields/F1/surveys", json={"fill_m3": 100, "at": "2026-11-20T08:00:00+08:00"}
    )
    assert r.status_code == 201
    r = lead.post(
        f"{base}/sections/R1/reports",
        data={"task": "clear", "checks": ["露路面", "见道线"], "note": "已清"},
        files={"photo": ("a.jpg", jpeg(), "image/jpeg")},
    )
    assert r.status_code == 201, r.text
    r = lead.post(
        f"{base}/sections/R1/reports",
        data={"task": "clear", "checks": ["好"]},
        files={"photo": ("a.jpg", jpeg(), "image/jpeg")},
    )
    assert r.status_code == 400
    states = {s["code"]: s for s in lead.get(f"{base}/sections").json()}
    assert states["R1"]["clear"]["by"] == "report"
    assert states["R1"]["clear"]["light"] == "done"
    assert lead.put(f"{base}/sections/R1/dirty", json={"dirty": True}).json() == {"dirty": True}
    routed = lead.get(f"{base}/route", params={"section": "R1"}).json()
    assert routed == {"section": "R1", "field": None}  # 污雪, and the only field is clean
    lead.put(f"{base}/workers", json={"day": "2026-11-20", "unit": STREET_A, "workers": 25})
    report = lead.get(f"{base}/report", params={"day": "2026-11-20"}).json()
    assert report["district"]["trips"] == 1 and report["district"]["volume_m3"] == 18
    assert report["district"]["workers"] == 25
    r = lead.get(f"{base}/report.xlsx", params={"day": "2026-11-20"})
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet.cell(1, 1).value.startswith("中雪")
    assert lead.get(f"{base}/report", params={"day": "1999-01-01"}).status_code == 400
    assert lead.get(f"{base}/report", params={"day": "soon"}).status_code == 400
    fields = lead.get(f"{API}/fields").json()
    assert fields[0]["code"] == "F1"
