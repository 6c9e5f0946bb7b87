"""The administrators' forms for collection points, roads and geofences (/vehicles/places):
list, create, edit, delete; geometry drawn (the page writes GeoJSON) or pasted; each problem
shown beside its field in words, nothing written until the form is right."""

import json
import re

from sqlalchemy import select

from civicgrid.vehicles import coverage, service
from civicgrid.vehicles.models import CollectionCheck, CollectionPoint, Geofence, Road
from tests.factories import POINT_A, STREET_A, login, world

LON, LAT = POINT_A


def line(n=3):
    return json.dumps(
        {"type": "LineString", "coordinates": [[LON + i * 0.001, LAT] for i in range(n)]}
    )


def field_error(html: str, name: str) -> str:
    found = re.search(rf'id="err-{name}" role="alert">([^<]*)<', html)
    return found.group(1) if found else ""


def test_an_administrator_adds_edits_and_deletes_a_collection_point(client, session):
    world(session)
    service.create_vehicle(session, plate="黑A5", type_code="garbage_truck", unit_code=STREET_A)
    login(client, "boss")
    assert client.get("/vehicles/places/point/new").status_code == 200
    point = json.dumps({"type": "Point", "coordinates": [LON, LAT]})
    r = client.post(
        "/vehicles/places/point/new",
        data={
            "code": "P1",
            "name": "红旗街收集点",
            "rule": "日产即清",
            "plates": "黑A5",
            "geometry": point,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/vehicles/places?done=saved")
    row = session.scalar(select(CollectionPoint).where(CollectionPoint.code == "P1"))
    assert (row.lon, row.lat, row.rule, [v.plate for v in row.vehicles]) == (
        LON,
        LAT,
        "日产即清",
        ["黑A5"],
    )
    listing = client.get("/vehicles/places")
    assert "红旗街收集点" in listing.text and "/vehicles/places/point/P1/edit" in listing.text
    # the edit form holds the place as it is; a pasted Feature moves it, the rule changes
    form = client.get("/vehicles/places/point/P1/edit")
    assert "日产即清" in form.text and f"[{LON}, {LAT}]" in form.text
    moved = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Point", "coordinates": [LON + 0.01, LAT]},
    }
    r = client.post(
        "/vehicles/places/point/P1/edit",
        data={
            "name": "红旗街收集点",
            "rule": "夜产晨清",
            "plates": "",
            "geometry": json.dumps(moved),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.refresh(row)
    assert (row.lon, row.rule, row.vehicles) == (LON + 0.01, "夜产晨清", [])
    # deleted
    r = client.post("/vehicles/places/point/P1/delete", follow_redirects=False)
    assert r.status_code == 303 and "done=deleted" in r.headers["location"]
    assert session.scalar(select(CollectionPoint).where(CollectionPoint.code == "P1")) is None


def test_a_point_with_decided_days_is_taken_off_the_rounds_not_deleted(client, session):
    world(session)
    import datetime as dt

    point = coverage.create_point(
        session, code="P2", name="点", lon=LON, lat=LAT, rule="日产即清", plates=[]
    )
    session.add(CollectionCheck(point_id=point.id, day=dt.date(2026, 11, 1), served=True))
    session.flush()
    login(client, "boss")
    r = client.post("/vehicles/places/point/P2/delete", follow_redirects=False)
    assert "done=deactivated" in r.headers["location"]
    session.refresh(point)
    assert point.active is False
    assert "已停用" in client.get(r.headers["location"]).text


def test_roads_and_geofences_are_drawn_and_edited(client, session):
    world(session)
    login(client, "boss")
    r = client.post(
        "/vehicles/places/road/new",
        data={
            "code": "R1",
            "name": "红旗大街",
            "unit": STREET_A,
            "types": ["sweeper", "sprinkler"],
            "geometry": line(),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    road = session.scalar(select(Road).where(Road.code == "R1"))
    assert len(road.coordinates) == 3 and 150 < road.length_m < 170  # 0.002° of longitude at 45.7°
    assert sorted(t.code for t in road.types) == ["sprinkler", "sweeper"]
    r = client.post(
        "/vehicles/places/road/R1/edit",
        data={"name": "红旗大街", "unit": STREET_A, "types": ["sweeper"], "geometry": line(5)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.refresh(road)
    assert (
        len(road.coordinates) == 5
        and road.length_m > 300
        and [t.code for t in road.types] == ["sweeper"]
    )
    # a polygon pasted closed (as GeoJSON does) is kept open, as the table keeps rings
    ring = [[LON, LAT], [LON + 0.002, LAT], [LON + 0.002, LAT + 0.002], [LON, LAT]]
    polygon = json.dumps({"type": "Polygon", "coordinates": [ring]})
    r = client.post(
        "/vehicles/places/geofence/new",
        data={
            "code": "G1",
            "name": "中央广场",
            "kind": "polygon",
            "distance_m": "",
            "geometry": polygon,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    fence = session.scalar(select(Geofence).where(Geofence.code == "G1"))
    assert fence.coordinates == ring[:3] and fence.distance_m is None
    # made a circle of 80 m around its first corner
    r = client.post(
        "/vehicles/places/geofence/G1/edit",
        data={
            "name": "中央广场",
            "kind": "circle",
            "distance_m": "80",
            "geometry": json.dumps({"type": "Point", "coordinates": [LON, LAT]}),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.refresh(fence)
    assert (fence.kind, fence.coordinates, fence.distance_m) == ("circle", [[LON, LAT]], 80.0)
    page = client.get("/vehicles/places")
    assert "红旗大街" in page.text and "中央广场" in page.text
    for kind, code in (("road", "R1"), ("geofence", "G1")):
        assert (
            client.post(
                f"/vehicles/places/{kind}/{code}/delete", follow_redirects=False
            ).status_code
            == 303
        )
    assert session.scalar(select(Road.id)) is None and session.scalar(select(Geofence.id)) is None


def test_problems_are_shown_beside_their_fields_in_words_and_nothing_is_written(client, session):
    world(session)
    coverage.create_point(
        session, code="P1", name="点", lon=LON, lat=LAT, rule="日产即清", plates=[]
    )
    login(client, "boss")
    cases = [
        (
            "point",
            {"code": "P1", "name": "", "rule": "每周", "plates": "黑Z999", "geometry": ""},
            {
                "code": "这个编号已经有了",
                "name": "请填写名称",
                "rule": "请选择收运规则",
                "plates": "没有这些车牌的车辆: 黑Z999",
                "geometry": "请在地图上画出位置",
            },
        ),
        (
            "point",
            {"code": "P9", "name": "点", "rule": "日产即清", "geometry": "{not json"},
            {"geometry": "不是有效的 GeoJSON"},
        ),
        (
            "point",
            {"code": "P9", "name": "点", "rule": "日产即清", "geometry": line()},
            {"geometry": "这里需要一个点"},
        ),
        (
            "road",
            {
                "code": "R9",
                "name": "路",
                "unit": "",
                "geometry": json.dumps({"type": "LineString", "coordinates": [[LON, LAT]]}),
            },
            {
                "unit": "请选择所属单位",
                "types": "请至少选择一种车辆类型",
                "geometry": "道路至少需要两个不同的点",
            },
        ),
        (
            "road",
            {
                "code": "R9",
                "name": "路",
                "unit": STREET_A,
                "types": ["sweeper"],
                "geometry": json.dumps(
                    {"type": "LineString", "coordinates": [[LON, 95], [LON, LAT]]}
                ),
            },
            {"geometry": "纬度在 -90 到 90 之间"},
        ),
        (
            "geofence",
            {
                "code": "G9",
                "name": "围栏",
                "kind": "circle",
                "distance_m": "",
                "geometry": json.dumps({"type": "Point", "coordinates": [LON, LAT]}),
            },
            {"distance_m": "圆形围栏请填写半径"},
        ),
        (
            "geofence",
            {
                "code": "G9",
                "name": "围栏",
                "kind": "polygon",
                "distance_m": "-3",
                "geometry": json.dumps(
                    {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [LON, LAT],
                                [LON + 0.01, LAT + 0.01],
                                [LON + 0.01, LAT],
                                [LON, LAT + 0.01],
                                [LON, LAT],
                            ]
                        ],
                    }
                ),
            },
            {"distance_m": "请填写大于 0 的米数", "geometry": "范围的边互相交叉了"},
        ),
        (
            "geofence",
            {"code": "x" * 40, "name": "围栏", "kind": "hexagon", "geometry": line()},
            {"code": "编号太长", "kind": "请选择围栏类型"},
        ),
    ]
    for kind, data, wanted in cases:
        r = client.post(f"/vehicles/places/{kind}/new", data=data, follow_redirects=False)
        assert r.status_code == 400, (kind, data)
        assert "请修改标红的内容后再保存" in r.text
        for name, words in wanted.items():
            assert words in field_error(r.text, name), (kind, name, field_error(r.text, name))
            assert f'aria-describedby="err-{name}"' in r.text
        # what was typed is still there to correct
        if data.get("name"):
            assert f'value="{data["name"]}"' in r.text
    assert session.scalar(select(Road.id)) is None and session.scalar(select(Geofence.id)) is None
    # in English too: no raw field names
    r = client.post(
        "/vehicles/places/point/new", data={"code": "", "name": ""}, cookies={"lang": "en"}
    )
    assert field_error(r.text, "code") == "Please enter a code"


def test_only_administrators_change_places(client, session):
    world(session)
    coverage.create_point(
        session, code="P1", name="点", lon=LON, lat=LAT, rule="日产即清", plates=[]
    )
    login(client, "disp")
    page = client.get("/vehicles/places")
    assert page.status_code == 200 and "点" in page.text and "/edit" not in page.text
    assert client.get("/vehicles/places/point/new").status_code == 403
    assert (
        client.post("/vehicles/places/point/P1/delete", follow_redirects=False).status_code == 403
    )
    login(client, "boss")
    assert client.get("/vehicles/places/point/nope/edit").status_code == 404
    assert client.get("/vehicles/places/bridge/new").status_code == 400
