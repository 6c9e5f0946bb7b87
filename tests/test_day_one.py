"""A district that is not the demo routes on day one: init, its own geography, a key, a report
(issue 15 #3). Through the real command line and the real app, on a fresh database file."""

import re

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from civicgrid.cli import app as cli
from tests.conftest import DATA
from tests.factories import POINT_A
from tests.test_cli import fresh_install  # noqa: F401 - the fixture

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_init_geography_and_a_key_route_a_report_to_its_street(fresh_install):  # noqa: F811
    from civicgrid.app import create_app

    # Given an empty database: init installs the default rule, once
    assert "installed dispatch rule" in invoke("init")
    assert "installed dispatch rule" not in invoke("init")
    rules = invoke("rules", "list")
    assert re.search(r"\*\s+│\s+street\s+│\s+│\s+10000", rules), rules
    # And the district's own geography and a key for its partner
    invoke("import-geo", str(DATA / "geo-small.geojson"))
    key = re.search(r"(o311_\S+)", invoke("apikey", "add", "FixMyStreet")).group(1)
    # When a citizen's report comes in through Open311
    with TestClient(create_app()) as client:
        r = client.post(
            "/open311/v2/requests.json",
            data={
                "api_key": key,
                "service_code": "06010",
                "lat": str(POINT_A[1]),
                "long": str(POINT_A[0]),
                "description": "垃圾",
            },
        )
        assert r.status_code == 201, r.text
        code = r.json()[0]["service_request_id"]
        shown = client.get(f"/open311/v2/requests/{code}.json").json()[0]
    # Then it is sent to the street office whose area holds the point
    assert shown["agency_responsible"] == "东风街道"
    assert shown["status_notes"].startswith("已派遣至东风街道")


def doctor() -> str:
    """doctor's output as one line (the console wraps long lines)."""
    return " ".join(runner.invoke(cli, ["doctor"]).output.split())


def test_doctor_lists_what_the_district_still_lacks(fresh_install):  # noqa: F811
    invoke("init")
    invoke("import-geo", str(DATA / "geo-small.geojson"))
    out = doctor()
    assert "streets without a handler: 239901001, 239901002" in out
    assert "grids without a supervisor: 239901001001001" in out
    assert "no api key" in out
    assert "categories without a time limit" not in out  # init loaded the limits
    assert "points to unit" not in out
    # When people, a key and next year's calendar are there
    invoke(
        "user",
        "add",
        "ha",
        "--name",
        "甲",
        "--unit",
        "239901001",
        "--role",
        "handler",
        "--password",
        "a-long-password-1",
    )
    invoke("apikey", "add", "FixMyStreet")
    invoke("rules", "add", "06010", "unit", "--unit", "239901002")
    out = doctor()
    assert "streets without a handler: 239901002" in out and "no api key" not in out
    assert "rule 2 points to unit 239901002, which has no people" in out
