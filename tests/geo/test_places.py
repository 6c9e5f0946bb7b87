"""Finding a place (streets, communities, grids, the imported gazetteer) and the map's detail
layer of communities and grids (map.geojson)."""

import math

import pytest
from typer.testing import CliRunner

from civicgrid.cli import app as cli_app
from civicgrid.geo import datum
from tests.factories import login, small_geography, user

GAZETTEER = (
    "name,aliases,lon,lat,datum\n"
    "哈尔滨市第三中学,三中|哈三中,126.7050,45.7050,wgs84\n"
    "东风农贸市场,菜市场,126.7150,45.7150,gcj02\n"
    "和平广场,,126.7350,45.7150,\n"
)


def _metres(a, b) -> float:
    dx = (a[0] - b[0]) * 111_320 * math.cos(math.radians(a[1]))
    return math.hypot(dx, (a[1] - b[1]) * 110_574)


def _admin(client, session):
    user(session, "adm", roles=["admin"], unit="239901001")
    session.commit()
    login(client, "adm")


def _upload(client, text: str, encoding: str = "utf-8"):
    files = {"file": ("places.csv", text.encode(encoding), "text/csv")}
    return client.post("/api/v1/geo/places/import", files=files)


def test_anonymous_may_not_import_a_gazetteer(client, session):
    assert _upload(client, GAZETTEER).status_code == 401


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_an_admin_imports_a_gazetteer_and_it_is_found(client, session, encoding):
    # Given the small geography and a gazetteer file in a spreadsheet's encoding
    small_geography(session)
    session.commit()
    _admin(client, session)
    # When the admin uploads it
    r = _upload(client, GAZETTEER, encoding)
    assert r.status_code == 200, r.text
    assert r.json() == {"imported": 3}
    # Then a place is found by name, by alias, by pinyin initials, by a mistyped name
    for q in ("哈尔滨市第三中学", "三中", "hebsdszx", "hsz", "哈尔滨第三中"):
        found = client.get("/api/v1/geo/places", params={"q": q}).json()
        assert found and found[0]["name"] == "哈尔滨市第三中学", (q, found)
    first = found[0]
    assert first["kind"] == "place" and first["aliases"] == ["三中", "哈三中"]
    assert first["within"] == "东风街道 东风社区"
    # a GCJ-02 point is stored as WGS-84
    market = client.get("/api/v1/geo/places", params={"q": "菜市场"}).json()[0]
    wgs = datum.to_wgs84(126.7150, 45.7150, "gcj02")
    assert _metres((market["lon"], market["lat"]), wgs) < 0.01


def test_streets_communities_and_grids_are_found_by_name_and_initials(client, session):
    small_geography(session)
    session.commit()
    found = client.get("/api/v1/geo/places", params={"q": "dfjd"}).json()
    assert found[0]["name"] == "东风街道" and found[0]["kind"] == "street"
    assert found[0]["code"] == "239901001"
    grids = client.get("/api/v1/geo/places", params={"q": "和平3号"}).json()
    assert grids[0] == {
        **grids[0],
        "kind": "grid",
        "code": "239901002001003",
        "within": "和平街道 和平社区",
    }
    # the pin goes inside the grid
    located = client.get(
        "/api/v1/geo/locate", params={"lon": grids[0]["lon"], "lat": grids[0]["lat"]}
    ).json()
    assert located["grid"]["code"] == "239901002001003"
    # a mistyped street (到 for 道) is still found; nothing like the query: nothing
    typo = client.get("/api/v1/geo/places", params={"q": "东风街到"}).json()
    assert typo[0]["name"] == "东风街道"
    assert client.get("/api/v1/geo/places", params={"q": "xyzxyz"}).json() == []


def test_a_file_with_problems_imports_nothing(client, session):
    small_geography(session)
    session.commit()
    _admin(client, session)
    assert _upload(client, GAZETTEER).status_code == 200
    bad = (
        "name,aliases,lon,lat,datum\n"
        "好地方,,126.70,45.70,wgs84\n"
        ",,126.70,45.70,wgs84\n"
        "坏坐标,,东经,45.70,wgs84\n"
        "远方,,200,45.70,wgs84\n"
        "怪坐标系,,126.70,45.70,utm\n"
    )
    r = _upload(client, bad)
    assert r.status_code == 422
    assert [p["index"] for p in r.json()["problems"]] == [3, 4, 5, 6]
    # the earlier gazetteer is whole, the good line of the bad file absent
    assert client.get("/api/v1/geo/places", params={"q": "三中"}).json()
    assert client.get("/api/v1/geo/places", params={"q": "好地方"}).json() == []
    missing = _upload(client, "name,lon\n地方,126.7\n")
    assert missing.status_code == 422 and "lat" in missing.json()["problems"][0]["reason"]
    assert _upload(client, "name,lon,lat\n").status_code == 422  # no places
    latin1 = "name,lon,lat\n\xff\xfe,1,2\n".encode("utf-16")
    r = client.post("/api/v1/geo/places/import", files={"file": ("p.csv", latin1, "text/csv")})
    assert r.status_code == 422


def test_the_cli_imports_a_gazetteer(session, tmp_path):
    path = tmp_path / "places.csv"
    path.write_bytes(GAZETTEER.encode("gb18030"))
    result = CliRunner().invoke(cli_app, ["import-places", str(path)])
    assert result.exit_code == 0, result.output
    assert "imported 3 places" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("name,lon,lat\n地方,x,1\n", encoding="utf-8")
    result = CliRunner().invoke(cli_app, ["import-places", str(bad)])
    assert result.exit_code == 1
    assert "#2" in result.output


def test_the_map_shows_communities_and_grids_with_their_unit(client, session):
    # Given the small geography, a grid with a person responsible
    small_geography(session)
    user(session, "wgy", roles=["handler"], unit="239901001001")
    from civicgrid.geo import service as geo_service

    geo_service.set_responsible_areas(session, "wgy", ["239901001001001"])
    session.commit()
    geo_service.refresh_index(session)  # (the running index checks every few seconds)
    bbox = "126.695,45.695,126.712,45.708"
    # When an anonymous map asks for the view around 东风1号网格
    r = client.get("/api/v1/geo/map.geojson", params={"bbox": bbox})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    features = {f["properties"]["code"]: f["properties"] for f in r.json()["features"]}
    # Then the community and the grids meeting the box, each with its name and unit
    assert "239901001001" in features and "239901001001001" in features
    assert "239901002001001" not in features  # 和平 lies east of the box
    grid = features["239901001001001"]
    assert grid["name"] == "东风1号网格" and grid["level"] == "grid"
    assert grid["unit"] == {"code": "239901001001", "name": "东风社区"}
    assert "responsible" not in grid  # no staff data for the public
    lon, lat = grid["label"]
    located = client.get("/api/v1/geo/locate", params={"lon": lon, "lat": lat}).json()
    assert located["grid"]["code"] == "239901001001001"
    # signed-in staff also see who is responsible
    login(client, "wgy")
    staff = client.get("/api/v1/geo/map.geojson", params={"bbox": bbox}).json()
    codes = {f["properties"]["code"]: f["properties"] for f in staff["features"]}
    assert codes["239901001001001"]["responsible"] == ["wgy"]


@pytest.mark.parametrize(
    ("bbox", "status"),
    [
        ("1,2,3", 422),
        ("a,b,c,d", 422),
        ("126.7,45.7,126.6,45.8", 422),  # min above max
        ("126.7,45.7,nan,45.8", 422),
        ("126.7,95,126.8,96", 422),
        ("126,45,127,46", 400),  # a whole degree: zoom in
    ],
)
def test_a_malformed_or_too_large_box_is_refused(client, session, bbox, status):
    r = client.get("/api/v1/geo/map.geojson", params={"bbox": bbox})
    assert r.status_code == status, r.text
    assert r.json()["message"]["en"]
