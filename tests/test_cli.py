import json

import pytest
from typer.testing import CliRunner

from civicgrid.auth import service as auth_service
from civicgrid.cli import app
from civicgrid.geo import service as geo_service
from civicgrid.org import service as org_service
from tests.conftest import DATA

runner = CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["user"],
        ["categories"],
        ["limits"],
        ["serve"],
        ["import-geo"],
        ["demo"],
        ["init"],
        ["media"],
        ["media", "sweep"],
    ],
)
def test_every_command_has_help(args):
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_import_geo_then_user_add_list_disable_passwd(session, tmp_path):
    org_service.ensure_unit(
        session, code="239901", name="示例区", kind="district", parent_code=None
    )
    result = runner.invoke(app, ["import-geo", str(DATA / "geo-small.geojson")])
    assert result.exit_code == 0, result.output
    assert "grid 8" in result.output
    assert geo_service.get_area(session, "239901002001004").level == "grid"

    result = runner.invoke(
        app,
        [
            "user",
            "add",
            "w1",
            "--name",
            "王一",
            "--unit",
            "239901001",
            "--role",
            "handler",
            "--role",
            "supervisor",
            "--password",
            "long-enough-1",
            "--phone",
            "13800001111",
        ],
    )
    assert result.exit_code == 0, result.output
    assert auth_service.get_user(session, "w1").roles == ["handler", "supervisor"]
    assert "w1" in runner.invoke(app, ["user", "list"]).output

    assert runner.invoke(app, ["user", "disable", "w1"]).exit_code == 0
    assert auth_service.get_user(session, "w1").disabled
    result = runner.invoke(app, ["user", "passwd", "w1", "--password", "short"])
    assert result.exit_code == 1 and "8" in result.output


def test_import_geo_reports_each_bad_feature_and_exits_1(session, tmp_path):
    data = json.loads((DATA / "geo-small.geojson").read_text(encoding="utf-8"))
    data["features"][2]["properties"]["level"] = "block"
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["import-geo", str(bad)])
    assert result.exit_code == 1
    assert "#2 239901001001" in result.output
    not_json = tmp_path / "x.geojson"
    not_json.write_text("{", encoding="utf-8")
    assert runner.invoke(app, ["import-geo", str(not_json)]).exit_code == 1


def test_limits_import_and_list(session, tmp_path):
    csv_file = tmp_path / "l.csv"
    csv_file.write_text(
        "scope,urgency,limit,unit,note\nevent:06010,normal,3,working_hours,t\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["limits", "import", str(csv_file)])
    assert result.exit_code == 0, result.output
    assert "event:06010" in runner.invoke(app, ["limits", "list"]).output
    csv_file.write_text(
        "scope,urgency,limit,unit,note\nevent:6010,normal,3,hours,t\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["limits", "import", str(csv_file)])
    assert result.exit_code == 1 and "line 2" in result.output
