import json

import pytest

from civicgrid.geo import datum
from tests.conftest import DATA
from tests.factories import login, small_geography, user


def gcj_to_wgs(lon, lat):
    return datum.to_wgs84(lon, lat, "gcj02")


def test_point_inside_a_grid(client, session):
    small_geography(session)
    # EX-01 of the examples lies in 东风1号网格
    r = client.get("/api/v1/geo/locate", params={"lon": 126.6988839, "lat": 45.7029325})
    assert r.status_code == 200
    body = r.json()
    assert body["inside"] is True
    assert body["grid"]["code"] == "239901001001001"
    assert body["community"]["code"] == "239901001001"
    assert body["street"] == {"code": "239901001", "name": "东风街道"}
    assert body["district"]["code"] == "239901"


def test_point_given_in_gcj02_and_bd09(client, session):
    small_geography(session)
    # The centre of grid 4 of street 2, in the file's own datum (GCJ-02)
    r = client.get("/api/v1/geo/locate", params={"lon": 126.735, "lat": 45.715, "datum": "gcj02"})
    assert r.json()["grid"]["code"] == "239901002001004"
    bd = datum.from_wgs84(*gcj_to_wgs(126.735, 45.715), "bd09")
    r = client.get("/api/v1/geo/locate", params={"lon": bd[0], "lat": bd[1], "datum": "bd09"})
    assert r.json()["grid"]["code"] == "239901002001004"


def test_point_outside_the_district(client, session):
    small_geography(session)
    r = client.get("/api/v1/geo/locate", params={"lon": 126.9, "lat": 45.9})
    body = r.json()
    assert r.status_code == 200
    assert body["inside"] is False and body["grid"] is None and body["street"] is None
    assert "outside" in body["message"]


def test_point_on_a_shared_edge_goes_to_one_grid_always(client, session):
    small_geography(session)
    # The edge x = 126.71 (GCJ-02) between grids 001 and 002, exactly on a stored vertex
    data = json.loads((DATA / "geo-small.geojson").read_text(encoding="utf-8"))
    grid2 = next(f for f in data["features"] if f["properties"]["code"] == "239901001001002")
    vertex = grid2["geometry"]["coordinates"][0][0]  # (126.71, 45.70): also a corner of 001
    lon, lat = gcj_to_wgs(vertex[0], vertex[1] + 0.005)
    answers = {
        client.get("/api/v1/geo/locate", params={"lon": lon, "lat": lat}).json()["grid"]["code"]
        for _ in range(3)
    }
    assert len(answers) == 1
    assert answers.pop() in {"239901001001001", "239901001001002"}


def test_point_on_the_district_edge_is_inside(client, session):
    small_geography(session)
    lon, lat = gcj_to_wgs(126.70, 45.705)  # west edge of the district
    body = client.get("/api/v1/geo/locate", params={"lon": lon, "lat": lat}).json()
    assert body["inside"] is True
    assert body["grid"]["code"] == "239901001001001"


def test_bad_input_gets_a_clear_4xx(client, session):
    small_geography(session)
    r = client.get("/api/v1/geo/locate", params={"lon": 126.7, "lat": 45.7, "datum": "mars"})
    assert r.status_code == 400 and "datum" in r.json()["detail"]
    r = client.get("/api/v1/geo/locate", params={"lon": 500, "lat": 45.7})
    assert r.status_code == 400 and "180" in r.json()["detail"]  # out of range: says the range
    r = client.get("/api/v1/geo/locate", params={"lon": "east", "lat": 45.7})
    assert r.status_code == 422 and r.json()["error"] == "invalid"


@pytest.fixture()
def grid_worker(session):
    """A supervisor responsible for grid 239901001001001 (street A)."""
    small_geography(session)
    user(session, "grid1", ["supervisor"], "239901001001", phones=["13912345678"], name="张秋生")
    user(session, "hb", ["handler"], "239901002")
    data = json.loads((DATA / "geo-small.geojson").read_text(encoding="utf-8"))
    for f in data["features"]:
        if f["properties"]["code"] == "239901001001001":
            f["properties"]["responsible"] = ["grid1"]
    from civicgrid.geo import service as geo_service

    geo_service.import_geojson(session, data)
    geo_service.refresh_index(session)


def test_anonymous_callers_get_the_place_but_no_staff_data(client, grid_worker):
    # When an anonymous caller locates a point of a grid that has a responsible person
    params = {"lon": 126.6988839, "lat": 45.7029325}
    r = client.get("/api/v1/geo/locate", params=params)
    # Then the answer names the grid, and neither the person's username, name nor phone
    assert r.status_code == 200 and r.json()["grid"]["code"] == "239901001001001"
    assert "responsible" not in r.json()
    for secret in ("grid1", "张秋生", "5678"):
        assert secret not in r.text
    # And neither do the public area listings
    for url in ("/api/v1/geo/areas", "/api/v1/geo/areas.geojson"):
        r = client.get(url, params={"level": "grid"})
        assert r.status_code == 200 and "grid1" not in r.text, url


def test_staff_get_the_responsible_people_with_phones_as_the_directory_shows_them(
    client, grid_worker
):
    params = {"lon": 126.6988839, "lat": 45.7029325}
    # A handler of another street: the name, the phone masked
    login(client, "hb")
    body = client.get("/api/v1/geo/locate", params=params).json()
    assert body["responsible"] == [
        {"username": "grid1", "name": "张秋生", "title": "", "phones": ["139****5678"]}
    ]
    # The person's own unit: the whole phone
    login(client, "grid1")
    body = client.get("/api/v1/geo/locate", params=params).json()
    assert body["responsible"][0]["phones"] == ["13912345678"]
    # And the area listings name them for staff
    areas = client.get("/api/v1/geo/areas", params={"level": "grid"}).json()
    assert ["grid1"] in [a["responsible"] for a in areas]


def test_each_level_exports_as_geojson_that_imports_again(client, session):
    small_geography(session)
    r = client.get("/api/v1/geo/areas.geojson", params={"level": "grid"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert len(fc["features"]) == 8
    assert {f["properties"]["level"] for f in fc["features"]} == {"grid"}
    from civicgrid.geo import service as geo_service

    assert geo_service.import_geojson(session, fc).updated == 8
    gcj = client.get(
        "/api/v1/geo/areas.geojson", params={"level": "district", "datum": "gcj02"}
    ).json()
    ring = gcj["features"][0]["geometry"]["coordinates"][0]
    assert abs(ring[0][0] - 126.7) < 1e-7 and abs(ring[0][1] - 45.7) < 1e-7


def test_upload_through_the_api_is_admin_only_and_all_or_nothing(client, session):
    small_geography(session)
    user(session, "boss", ["admin"], "239901")
    user(session, "h1", ["handler"], "239901001")
    files = {"file": ("g.geojson", b'{"type": "FeatureCollection", "features": []}')}
    assert client.post("/api/v1/geo/import", files=files).status_code == 401
    login(client, "h1")
    assert client.post("/api/v1/geo/import", files=files).status_code == 403
    login(client, "boss")
    r = client.post("/api/v1/geo/import", files=files)
    assert r.status_code == 422 and r.json()["problems"]
    r = client.post("/api/v1/geo/import", files={"file": ("g.geojson", b"not json")})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]
    good = (DATA / "geo-small.geojson").read_bytes()
    r = client.post("/api/v1/geo/import", files={"file": ("g.geojson", good)})
    assert r.status_code == 200 and r.json()["updated"] == 13
