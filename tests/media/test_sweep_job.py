"""The photo sweep runs on the schedule (hourly, with a grace of at least an hour), never at a
server's start: a restart must not delete the fresh upload of another process."""

import os
import time

from civicgrid.config import Settings, get_settings
from civicgrid.kit import scheduler
from civicgrid.kit.scheduler import JobRun
from civicgrid.kit.storage import LocalStorage
from civicgrid.media import service as media_service
from tests.images import jpeg


def files(root) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_the_default_grace_is_at_least_an_hour():
    assert Settings().media_sweep_grace_seconds >= 3600
    assert media_service.SWEEP_JOB.every.total_seconds() <= 3600
    assert scheduler.get_job("media-sweep") is media_service.SWEEP_JOB


def test_the_scheduled_sweep_keeps_a_fresh_upload_and_removes_an_old_orphan(
    session, tmp_path, monkeypatch
):
    # Given a fresh file another process is writing (its report not committed yet), and an
    # orphan a killed process left two hours ago
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path))
    get_settings.cache_clear()
    store = LocalStorage(tmp_path)
    store.put("12/fresh.jpg", jpeg())
    store.put("11/orphan.jpg", jpeg())
    age(tmp_path / "11" / "orphan.jpg", 2 * 3600)

    # When the scheduled job runs
    outcome = scheduler.run_job(media_service.SWEEP_JOB, node="test")

    # Then the fresh one is kept, the orphan gone, and the run recorded
    assert outcome.ran and outcome.ok, outcome.error
    assert files(tmp_path) == {"12/fresh.jpg"}
    row = session.get(JobRun, "media-sweep")
    assert row.last_ok is True and row.runs == 1
    assert outcome.result == "removed 1 photo files no report refers to"


def test_starting_serve_deletes_nothing(session, tmp_path, monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from civicgrid.cli import app as cli

    # Given an old orphan and a fresh unreferenced file in the store
    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path))
    get_settings.cache_clear()
    store = LocalStorage(tmp_path)
    store.put("11/orphan.jpg", jpeg())
    store.put("12/fresh.jpg", jpeg())
    age(tmp_path / "11" / "orphan.jpg", 30 * 24 * 3600)
    served = {}

    def run(*args, **kwargs):
        served.update(kwargs, scheduler=os.environ.get("CIVICGRID_RUN_SCHEDULER"))

    monkeypatch.setattr(uvicorn, "run", run)

    # When `civicgrid serve` starts
    result = CliRunner().invoke(cli, ["serve", "--port", "8123"])

    # Then it served, with the scheduler on for its workers, and removed no file
    assert result.exit_code == 0, result.output
    assert served["port"] == 8123
    assert served["scheduler"] == "true"
    assert files(tmp_path) == {"11/orphan.jpg", "12/fresh.jpg"}
    # and this process's environment is as it was
    assert "CIVICGRID_RUN_SCHEDULER" not in os.environ
