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


def test_metrics_of_several_processes_are_added_up(client, tmp_path, monkeypatch):
    import os
    import subprocess
    import sys

    # Given two worker processes in multiprocess mode, each counting reports
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = (
        "import sys; from civicgrid.cases import metrics; "
        "metrics.INTAKE.labels('hotline').inc(int(sys.argv[1]))"
    )
    workers = [subprocess.Popen([sys.executable, "-c", count, str(n)], env=env) for n in (3, 4)]
    assert [w.wait(60) for w in workers] == [0, 0]
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # one file per process

    # When /metrics is read in multiprocess mode (in whichever worker)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = client.get("/metrics").text

    # Then it shows their sum, and the series read at scrape time as well
    assert 'civicgrid_reports_total{source="hotline"} 7.0' in text
    assert "# TYPE civicgrid_cases gauge" in text


def test_serve_with_workers_prepares_an_empty_metrics_directory(tmp_path, monkeypatch):
    import os

    import uvicorn
    from typer.testing import CliRunner

    from civicgrid.cli import app as cli

    # Given what earlier workers left in the metrics directory
    where = tmp_path / "prometheus"
    where.mkdir()
    (where / "counter_1234.db").write_bytes(b"old")
    monkeypatch.setenv("CIVICGRID_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    seen = {}

    def run(*args, **kwargs):
        seen["dir"] = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        seen["files"] = list(where.iterdir())

    monkeypatch.setattr(uvicorn, "run", run)

    # When serve starts two workers
    result = CliRunner().invoke(cli, ["serve", "--workers", "2", "--no-scheduler"])

    # Then they share an emptied directory, and this process's environment is as it was
    assert result.exit_code == 0, result.output
    assert seen == {"dir": str(where), "files": []}
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    assert "CIVICGRID_RUN_SCHEDULER" not in os.environ
