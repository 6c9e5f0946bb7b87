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
