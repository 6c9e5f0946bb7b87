"""The fleet registry: types as data, vehicles, trackers (vehicle or person), API, CLI, xlsx."""

import io

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from civicgrid.cli import app as cli
from civicgrid.vehicles import service
from civicgrid.vehicles.exceptions import BadVehicle
from tests.factories import STREET_A, login, small_geography, user

runner = CliRunner()


def fleet_world(session):
    small_geography(session)
    user(session, "boss", ["admin"], "239901")
    user(session, "lh", ["handler"], STREET_A)


def workbook(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_issue_s_types_are_data_with_the_sweeper_and_sprinkler_speeds(session):
    kinds = {t.code: t for t in service.vehicle_types(session)}
    assert [kinds[c].name for c in ("garbage_truck", "sprinkler", "sweeper")] == [
        "垃圾车",
        "洒水车",
        "清扫车",
    ]
    assert {kinds[c].name for c in ("snow_plough", "snow_hauler", "enforcement")} == {
        "铲雪车",
        "运雪车",
        "执法车",
    }
    assert (kinds["sweeper"].work_speed_min, kinds["sweeper"].work_speed_max) == (0.0, 8.0)
    assert kinds["sprinkler"].work_speed_max == 15.0
    changed = service.save_type(session, code="sweeper", work_speed_max=10.0)
    assert changed.work_speed_max == 10.0
    with pytest.raises(BadVehicle):
        service.save_type(session, code="sweeper", work_speed_min=12.0)


def test_plates_are_kept_gbk_safe():
    assert service.normalise_plate(" 黑a·12345 ") == "黑A12345"
    with pytest.raises(BadVehicle, match="GBK"):
        service.normalise_plate("黑A1234😀")
    with pytest.raises(BadVehicle):
        service.normalise_plate("")


def test_jt808_terminal_ids_keep_their_width():
    assert service.normalise_terminal_id("13912345678", "jt808") == "013912345678"
    assert (
        service.normalise_terminal_id("0" * 8 + "13912345678", "jt808") == "0" * 9 + "13912345678"
    )
    with pytest.raises(BadVehicle):
        service.normalise_terminal_id("13912x", "jt808")


def test_anonymous_gets_401_and_a_handler_may_read_but_not_write(client, session):
    fleet_world(session)
    assert client.get("/api/v1/vehicles").status_code == 401
    login(client, "lh")
    assert client.get("/api/v1/vehicles").status_code == 200
    r = client.post("/api/v1/vehicles", json={"plate": "黑A1", "type": "sweeper", "unit": STREET_A})
    assert r.status_code == 403


def test_admin_registers_a_vehicle_and_its_tracker(client, session):
    fleet_world(session)
    login(client, "boss")
    r = client.post(
        "/api/v1/vehicles",
        json={"plate": "黑A·12345", "type": "sweeper", "unit": STREET_A, "note": "东线"},
    )
    assert r.status_code == 201, r.text
    vehicle = r.json()
    assert (vehicle["plate"], vehicle["type_name"], vehicle["unit"]) == (
        "黑A12345",
        "清扫车",
        STREET_A,
    )
    r = client.post(
        "/api/v1/vehicles/trackers",
        json={"terminal_id": "13912345678", "protocol": "jt808", "vehicle_id": vehicle["id"]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["terminal_id"] == "013912345678" and r.json()["token"] is None
    listed = client.get("/api/v1/vehicles").json()
    assert listed[0]["terminals"] == ["013912345678"]
    r = client.patch(f"/api/v1/vehicles/{vehicle['id']}", json={"type": "sprinkler"})
    assert r.json()["type"] == "sprinkler"


def test_a_person_s_phone_is_a_tracker_with_a_token_shown_once(client, session):
    fleet_world(session)
    login(client, "boss")
    person_id = user(session, "zs", ["supervisor"], STREET_A).person_id
    r = client.post(
        "/api/v1/vehicles/trackers",
        json={"terminal_id": "phone-zs", "protocol": "http", "person_id": person_id},
    )
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert token and len(token) >= 24
    assert service.tracker_by_token(session, token).person_id == person_id
    listed = client.get("/api/v1/vehicles/trackers").json()
    assert [t["token"] for t in listed] == [None]


@pytest.mark.parametrize(
    "body, status",
    [
        ({"plate": "黑A1😀", "type": "sweeper", "unit": STREET_A}, 400),
        ({"plate": "黑A1", "type": "tank", "unit": STREET_A}, 404),
        ({"plate": "黑A1", "type": "sweeper", "unit": "nowhere"}, 400),
        ({"plate": "黑A1", "type": "sweeper", "unit": STREET_A, "capacity_m3": -1}, 400),
    ],
)
def test_bad_vehicles_are_refused_clearly(client, session, body, status):
    fleet_world(session)
    login(client, "boss")
    r = client.post("/api/v1/vehicles", json=body)
    assert r.status_code == status, r.text
    assert client.get("/api/v1/vehicles").json() == []


def test_a_tracker_needs_exactly_one_owner_and_a_plate_is_unique(client, session):
    fleet_world(session)
    login(client, "boss")
    body = {"plate": "黑A1", "type": "sweeper", "unit": STREET_A}
    vehicle = client.post("/api/v1/vehicles", json=body).json()
    assert client.post("/api/v1/vehicles", json=body).status_code == 409
    r = client.post("/api/v1/vehicles/trackers", json={"terminal_id": "1", "protocol": "jt808"})
    assert r.status_code == 400 and "二者之一" in r.json()["detail"]
    r = client.post(
        "/api/v1/vehicles/trackers",
        json={"terminal_id": "1", "protocol": "gt06", "vehicle_id": vehicle["id"]},
    )
    assert r.status_code == 400


def test_xlsx_import_is_all_or_nothing_with_problems_by_row(client, session):
    fleet_world(session)
    login(client, "boss")
    header = ["车牌号", "车辆类型", "单位编码", "容积(m³)", "终端号", "协议"]
    bad = workbook(
        [
            header,
            ["黑A10001", "清扫车", STREET_A, None, "13900000001", "jt808"],
            ["黑A10002", "坦克", STREET_A, None, None, None],
            ["黑A10001", "洒水车", STREET_A, None, None, None],
            ["黑A10003", "运雪车", "nowhere", "abc", None, None],
        ]
    )
    r = client.post("/api/v1/vehicles/import", files={"file": ("f.xlsx", bad)})
    assert r.status_code == 400
    rows = sorted({p["index"] for p in r.json()["problems"]})
    assert rows == [3, 4, 5]
    assert client.get("/api/v1/vehicles").json() == []
    good = workbook(
        [
            header,
            ["黑A10001", "清扫车", STREET_A, None, "13900000001", "jt808"],
            ["黑A10002", "snow_hauler", STREET_A, 12, "phone-1", "http"],
        ]
    )
    r = client.post("/api/v1/vehicles/import", files={"file": ("f.xlsx", good)})
    assert r.status_code == 200, r.text
    assert (r.json()["vehicles"], r.json()["trackers"]) == (2, 2)
    assert list(r.json()["tokens"]) == ["phone-1"]
    plates = [v["plate"] for v in client.get("/api/v1/vehicles").json()]
    assert plates == ["黑A10001", "黑A10002"]
    r = client.post("/api/v1/vehicles/import", files={"file": ("f.xlsx", b"not a workbook")})
    assert r.status_code == 400


@pytest.mark.parametrize(
    "args",
    [
        ["vehicles"],
        ["vehicles", "add"],
        ["vehicles", "import"],
        ["vehicles", "tracker-add"],
        ["vehicles", "types"],
        ["vehicles", "list"],
        ["vehicles", "trackers"],
    ],
)
def test_every_vehicles_command_has_help(args):
    result = runner.invoke(cli, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_cli_adds_lists_and_imports_with_row_numbers(session, tmp_path):
    small_geography(session)
    result = runner.invoke(
        cli,
        [
            "vehicles",
            "add",
            "黑A20001",
            "--type",
            "sweeper",
            "--unit",
            STREET_A,
            "--terminal",
            "13900000009",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "黑A20001" in result.output and "013900000009" in result.output
    path = tmp_path / "fleet.xlsx"
    path.write_bytes(
        workbook(
            [
                ["plate", "type", "unit"],
                ["黑A20002", "sweeper", STREET_A],
                ["黑A20001", "sweeper", STREET_A],
            ]
        )
    )
    result = runner.invoke(cli, ["vehicles", "import", str(path)])
    assert result.exit_code == 1
    assert "#3" in result.output
    result = runner.invoke(cli, ["vehicles", "list"])
    assert "黑A20001" in result.output and "黑A20002" not in result.output
