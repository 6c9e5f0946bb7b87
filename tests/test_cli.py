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
        ["jobs"],
        ["jobs", "list"],
        ["jobs", "run"],
        ["jobs", "work"],
        ["doctor"],
        ["backup"],
        ["restore"],
        ["spotcheck"],
        ["spotcheck", "draw"],
        ["spotcheck", "plan-file"],
        ["import-places"],
        ["tiles-pack"],
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
    assert result.exit_code == 1 and "10" in result.output


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


# --- the secret key, serve and doctor (issue 12 #1) -------------------------------------------


@pytest.fixture()
def fresh_install(tmp_path, monkeypatch):
    """An empty SQLite database file path and var_dir, no CIVICGRID_SECRET_KEY, development."""
    from civicgrid import config
    from civicgrid.config import get_settings
    from civicgrid.kit import db

    monkeypatch.delenv("CIVICGRID_SECRET_KEY", raising=False)
    monkeypatch.delenv("CIVICGRID_DATABASE_SCHEMA", raising=False)
    monkeypatch.setenv("CIVICGRID_MODE", "development")
    monkeypatch.setenv("CIVICGRID_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CIVICGRID_DATABASE_URL", f"sqlite:///{tmp_path}/var/civicgrid.db")
    monkeypatch.setattr(config, "_from_file", {})
    get_settings.cache_clear()
    db.set_engine(None)
    yield tmp_path / "var"
    engine = db._state.engine
    db.set_engine(None)
    if engine is not None:
        engine.dispose()


def test_init_generates_the_key_file_once_and_says_where(fresh_install):
    import stat

    # Given a fresh install with no key set
    key_file = fresh_install / "secret_key"
    # When init runs
    result = runner.invoke(app, ["init"])
    # Then it generates var/secret_key (0600, >= 32 bytes) and says so, never the key
    assert result.exit_code == 0, result.output
    key = key_file.read_text().strip()
    assert len(key) >= 32 and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "generated" in result.output and "secret_key" in result.output
    assert key not in result.output
    # When init runs again (another process: nothing cached)
    from civicgrid import config

    config._from_file.clear()
    result = runner.invoke(app, ["init"])
    # Then the same key is kept
    assert result.exit_code == 0, result.output
    assert "file" in result.output and key_file.read_text().strip() == key


def test_init_in_production_makes_the_key_file_too(fresh_install, monkeypatch):
    from civicgrid.config import get_settings

    monkeypatch.setenv("CIVICGRID_MODE", "production")
    get_settings.cache_clear()
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert (fresh_install / "secret_key").exists()


def test_init_and_serve_refuse_a_short_production_key_with_a_clear_message(
    fresh_install, monkeypatch
):
    from civicgrid.config import get_settings

    monkeypatch.setenv("CIVICGRID_MODE", "production")
    monkeypatch.setenv("CIVICGRID_SECRET_KEY", "x")
    get_settings.cache_clear()
    for command in (["init"], ["serve"], ["doctor"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert "CIVICGRID_SECRET_KEY" in result.output and "32" in result.output
        assert "至少" in result.output
    assert not (fresh_install / "secret_key").exists()


@pytest.mark.parametrize(
    ("key", "says"), [(None, "generated"), ("k" * 48, "environment (CIVICGRID_SECRET_KEY)")]
)
def test_serve_says_which_key_source_it_uses(fresh_install, monkeypatch, key, says):
    import uvicorn

    from civicgrid.config import get_settings

    if key:
        monkeypatch.setenv("CIVICGRID_SECRET_KEY", key)
    get_settings.cache_clear()
    started = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: started.append(kw))
    result = runner.invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert says in result.output and started and started[0]["workers"] == 2
    assert (key or (fresh_install / "secret_key").read_text().strip()) not in result.output


def test_doctor_passes_on_a_migrated_database(session):
    # Given the tests' database (migrated) and their key in the environment
    result = runner.invoke(app, ["doctor"])
    # Then every check passes
    assert result.exit_code == 0, result.output
    assert "environment" in result.output
    assert "database reachable" in result.output and "migrations at head" in result.output


def test_doctor_warns_when_production_runs_on_a_generated_key(fresh_install, monkeypatch):
    from civicgrid.config import get_settings

    assert runner.invoke(app, ["init"]).exit_code == 0
    monkeypatch.setenv("CIVICGRID_MODE", "production")
    get_settings.cache_clear()
    (fresh_install / "secret_key").chmod(0o644)
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "warn" in result.output and "several servers" in result.output
    assert "chmod 600" in result.output


def test_doctor_fails_without_a_database_or_below_the_newest_migration(fresh_install):
    from sqlalchemy import create_engine

    # Given no database file at all
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1 and "civicgrid init" in result.output
    # Given a database file with no schema
    fresh_install.mkdir(parents=True, exist_ok=True)
    create_engine(f"sqlite:///{fresh_install}/civicgrid.db").connect().close()
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "database reachable" in result.output and "not" in result.output


def test_doctor_fails_when_the_database_is_unreachable(fresh_install, monkeypatch):
    from civicgrid.config import get_settings

    monkeypatch.setenv("CIVICGRID_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    get_settings.cache_clear()
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1 and "unreachable" in result.output


def test_user_add_refuses_a_weak_password_with_the_rule(session):
    org_service.ensure_unit(
        session, code="239901", name="示例区", kind="district", parent_code=None
    )
    base = ["user", "add", "w2", "--name", "王二", "--unit", "239901", "--role", "handler"]
    for weak, says in (("short", "10"), ("W2-2024-2025", "username"), ("password2024", "common")):
        result = runner.invoke(app, [*base, "--password", weak])
        assert result.exit_code == 1 and says in result.output, (weak, result.output)
    assert auth_service.get_user(session, "w2") is None
