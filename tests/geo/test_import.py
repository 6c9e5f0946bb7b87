import copy
import json

import pytest
from sqlalchemy import func, select

from civicgrid.geo import service as geo_service
from civicgrid.geo.exceptions import GeoImportInvalid
from civicgrid.geo.models import Area
from civicgrid.org import service as org_service
from tests.conftest import DATA
from tests.factories import small_geography


def small():
    return json.loads((DATA / "geo-small.geojson").read_text(encoding="utf-8"))


def square(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def count(session) -> int:
    return session.scalar(select(func.count(Area.id)))


def test_small_example_imports_every_level_and_makes_org_units(session):
    # When the example geography is imported
    result = geo_service.import_geojson(session, small())
    # Then every area is there, in WGS-84, and streets and communities are org units
    assert result.by_level == {"district": 1, "street": 2, "community": 2, "grid": 8}
    grid = geo_service.get_area(session, "239901001001001")
    assert grid.parent_code == "239901001001"
    lon = grid.geometry["coordinates"][0][0][0]
    assert lon != 126.7 and abs(lon - 126.7) < 0.01  # converted from GCJ-02
    assert 500_000 < grid.area_m2 < 1_000_000  # 0.01° × 0.01° at 45.7° N ≈ 860,000 m²
    street = org_service.get_unit(session, "239901001")
    assert (street.kind, street.name) == ("street", "东风街道")
    assert org_service.get_unit(session, "239901001001").kind == "community"


def test_second_import_updates_in_place(session):
    geo_service.import_geojson(session, small())
    data = small()
    for f in data["features"]:
        if f["properties"]["code"] == "239901001":
            f["properties"]["name"] = "东风街道(新)"
            f["properties"]["responsible"] = ["grid1"]
    result = geo_service.import_geojson(session, data)
    assert (result.created, result.updated) == (0, 13)
    assert count(session) == 13
    assert geo_service.get_area(session, "239901001").name == "东风街道(新)"
    assert org_service.get_unit(session, "239901001").name == "东风街道(新)"


def broken_cases():
    base = small()
    out = {}

    d = copy.deepcopy(base)
    d["features"][3]["properties"]["level"] = "block"
    out["unknown level"] = (d, 3, "unknown level")

    d = copy.deepcopy(base)
    d["features"][4]["properties"]["parent"] = "239901009009"
    out["missing parent"] = (d, 4, "not found")

    d = copy.deepcopy(base)
    d["features"][5]["properties"]["code"] = d["features"][4]["properties"]["code"]
    out["duplicate code"] = (d, 5, "duplicate")

    d = copy.deepcopy(base)
    d["features"][3]["geometry"] = {
        "type": "Polygon",
        "coordinates": [
            [[126.70, 45.70], [126.71, 45.71], [126.71, 45.70], [126.70, 45.71], [126.70, 45.70]]
        ],
    }
    out["self-intersecting"] = (d, 3, "invalid polygon")

    d = copy.deepcopy(base)
    d["features"][3]["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[126.70, 45.70], [126.71, 45.70], [126.70, 45.70]]],
    }
    out["fewer than 4 points"] = (d, 3, "fewer than 4 points")

    d = copy.deepcopy(base)
    d["features"][3]["geometry"] = square(126.75, 45.70, 126.76, 45.71)
    out["grid outside its parent"] = (d, 3, "outside its parent")
    return out


@pytest.mark.parametrize("name", list(broken_cases()))
def test_each_bad_feature_is_reported_by_index_and_code_and_nothing_is_written(session, name):
    data, index, words = broken_cases()[name]
    with pytest.raises(GeoImportInvalid) as info:
        geo_service.import_geojson(session, data)
    problems = info.value.problems
    assert any(p["index"] == index and words in p["reason"] for p in problems), problems
    assert all(p["code"] for p in problems if p["index"] is not None)
    assert count(session) == 0
    assert org_service.find_unit(session, "239901001") is None


def test_all_problems_are_listed_at_once(session):
    data = small()
    data["features"][3]["properties"]["level"] = "block"
    data["features"][6]["properties"]["parent"] = "nowhere"
    with pytest.raises(GeoImportInvalid) as info:
        geo_service.import_geojson(session, data)
    assert [p["index"] for p in info.value.problems] == [3, 6]


def test_parent_may_already_be_in_the_database(session):
    small_geography(session)
    extra = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": square(126.7, 45.7, 126.705, 45.705),
                "properties": {
                    "level": "grid",
                    "code": "239901001001099",
                    "name": "新网格",
                    "parent": "239901001001",
                    "datum": "gcj02",
                },
            }
        ],
    }
    assert geo_service.import_geojson(session, extra).created == 1


def test_not_a_feature_collection(session):
    with pytest.raises(GeoImportInvalid):
        geo_service.import_geojson(session, {"type": "Feature"})
