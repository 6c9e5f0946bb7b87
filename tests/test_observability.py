import json
import logging

from tests.factories import POINT_A, world


def test_metrics_in_prometheus_format(client, session):
    world(session)
    before = client.get("/metrics").text
    r = client.post(
        "/api/v1/citizen/reports",
        data={"category": "06010", "lon": str(POINT_A[0]), "lat": str(POINT_A[1])},
    )
    assert r.status_code == 201
    text = client.get("/metrics").text
    assert 'civicgrid_cases{state="dispatched"} 1.0' in text
    assert 'civicgrid_reports_total{source="citizen"}' in text

    def count(page: str) -> float:
        prefix = 'civicgrid_reports_total{source="citizen"}'
        values = [line.split()[-1] for line in page.splitlines() if line.startswith(prefix)]
        return float(values[0]) if values else 0.0

    assert count(text) == count(before) + 1
    assert (
        'civicgrid_http_request_duration_seconds_bucket{le="0.005",method="POST",'
        'route="/api/v1/citizen/reports",status="201"}' in text
    )


def test_every_request_has_an_id_and_a_json_log_line(client, caplog):
    from civicgrid.kit.observability import JsonFormatter

    with caplog.at_level(logging.INFO, logger="civicgrid.request"):
        logging.getLogger("civicgrid.request").addHandler(caplog.handler)
        try:
            r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        finally:
            logging.getLogger("civicgrid.request").removeHandler(caplog.handler)
    assert r.headers["x-request-id"] == "abc-123"
    assert len(client.get("/healthz").headers["x-request-id"]) == 32
    record = next(rec for rec in caplog.records if rec.name == "civicgrid.request")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "abc-123" and line["status"] == 200
    assert line["route"] == "/healthz" and line["msg"] == "request"
