"""The independent GeoReport v2 client `georeport` (PyPI) against the real server over HTTP,
JSON and XML. georeport has no POST, so requests are created with a plain form POST by
`requests` and read back through georeport."""

import pytest
import requests
import xmltodict
from georeport import GeoReport

from civicgrid.open311 import service as o311
from tests.conftest import live_server
from tests.factories import POINT_A, world


@pytest.fixture()
def live(committed):
    with committed() as session:
        world(session)
        _, key = o311.add_key(session, "georeport")
        session.commit()
    with live_server() as base:
        yield f"{base}/open311/v2", key


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_georeport_client_lists_posts_and_reads(live, fmt):
    root, key = live
    client = GeoReport(root, api_key=key, output_format=fmt)
    services = client.get_service_list()
    assert any(s["service_code"] == "06010" for s in services)
    definition = client.get_service_definition("01002")
    assert definition["service_code"] == "01002"
    r = requests.post(
        f"{root}/requests.{fmt}",
        data={
            "api_key": key,
            "service_code": "06010",
            "lat": POINT_A[1],
            "long": POINT_A[0],
            "description": "路边暴露垃圾",
        },
        timeout=10,
    )
    assert r.status_code == 201, r.text
    if fmt == "json":
        request_id = r.json()[0]["service_request_id"]
    else:
        request_id = xmltodict.parse(r.text)["service_requests"]["request"]["service_request_id"]
    found = client.get_service_request(request_id)
    assert found["service_request_id"] == request_id
    assert found["status"] == "open"
    listed = client.get_service_requests(service_request_id=request_id)
    listed = listed if isinstance(listed, list) else [listed]
    assert [r["service_request_id"] for r in listed] == [request_id]
