"""The secret key (issue 12 #1): never a constant, generated once under var/, at least 32
bytes, one key for processes that start together."""

import os
import stat
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from pydantic import ValidationError

from civicgrid import config
from civicgrid.config import SECRET_KEY_MIN_BYTES, Settings, get_settings, secret_key
from tests.factories import SITE, login, small_geography, user


@pytest.fixture()
def no_env_key(monkeypatch, tmp_path):
    """No CIVICGRID_SECRET_KEY; var_dir is a fresh directory; nothing read before."""
    monkeypatch.delenv("CIVICGRID_SECRET_KEY", raising=False)
    monkeypatch.setenv("CIVICGRID_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setattr(config, "_from_file", {})
    get_settings.cache_clear()
    return tmp_path / "var" / "secret_key"


def forge(key: str, payload: dict) -> str:
    return URLSafeTimedSerializer(key, salt="civicgrid-session").dumps(payload)


FIXED_STRINGS = ["dev-secret-change-me", "", "secret", "changeme", "test-secret-x", "civicgrid"]


@pytest.mark.parametrize("mode", ["development", "test"])
def test_a_cookie_forged_with_any_fixed_string_is_refused(session, monkeypatch, no_env_key, mode):
    # Given the default set-up of a mode: no key configured, an admin signed in
    monkeypatch.setenv("CIVICGRID_MODE", mode)
    get_settings.cache_clear()
    small_geography(session)
    admin = user(session, "boss", ["admin"], "239901")
    from civicgrid.app import create_app

    app = create_app()
    c = TestClient(app, headers=SITE)
    login(c, "boss")
    assert c.get("/api/v1/users").status_code == 200
    # When cookies are signed with fixed strings, in the old and the new payloads
    for fixed in FIXED_STRINGS:
        for payload in ({"u": admin.id, "v": 1}, {"s": 1, "k": "x"}, {"u": admin.id}):
            forged = TestClient(app, headers=SITE)
            forged.cookies.set("civicgrid_session", forge(fixed, payload))
            # Then none is let in
            assert forged.get("/api/v1/users").status_code == 401, (fixed, payload)
    # And the key that did sign the real cookie is the generated one, in var/secret_key
    assert no_env_key.read_text().strip() == secret_key(get_settings()).key


def test_the_key_file_is_generated_once_with_mode_0600_and_at_least_32_bytes(no_env_key):
    # Given no key set and no file
    assert not no_env_key.exists()
    # When the key is asked for
    first = secret_key(get_settings())
    # Then a random key is written to var/secret_key, readable by its owner only
    assert first.source == "generated" and first.path == no_env_key
    assert stat.S_IMODE(no_env_key.stat().st_mode) == 0o600
    assert len(first.key.encode()) >= 32 and no_env_key.read_text().strip() == first.key
    # And a later process (nothing cached) reuses it
    config._from_file.clear()
    again = secret_key(get_settings())
    assert again.source == "file" and again.key == first.key


def test_two_installs_get_different_keys(tmp_path, no_env_key):
    a = secret_key(Settings(mode="development", var_dir=str(tmp_path / "a")))
    b = secret_key(Settings(mode="development", var_dir=str(tmp_path / "b")))
    assert a.key != b.key


def test_the_environment_key_wins_and_no_file_is_made(no_env_key, monkeypatch):
    monkeypatch.setenv("CIVICGRID_SECRET_KEY", "k" * 40)
    get_settings.cache_clear()
    found = secret_key(get_settings())
    assert (found.key, found.source) == ("k" * 40, "environment")
    assert not no_env_key.exists()


def test_without_create_nothing_is_written(no_env_key):
    found = secret_key(get_settings(), create=False)
    assert (found.key, found.source) == (None, "none") and not no_env_key.exists()


@pytest.mark.parametrize("mode", ["production", "development"])
@pytest.mark.parametrize("key", ["", "x", "s3cret-value", "a" * (SECRET_KEY_MIN_BYTES - 1)])
def test_a_key_shorter_than_32_bytes_is_refused_outside_test_mode(mode, key, no_env_key):
    with pytest.raises(ValidationError) as exc:
        Settings(mode=mode, secret_key=key)
    message = str(exc.value)
    assert "CIVICGRID_SECRET_KEY" in message and "32" in message and "至少" in message


def test_a_long_enough_key_is_accepted_and_test_mode_may_keep_a_short_one(no_env_key):
    assert Settings(mode="production", secret_key="é" * 16).secret_key  # 32 bytes in UTF-8
    assert Settings(mode="test", secret_key="test-secret").secret_key == "test-secret"
    assert Settings(mode="production").secret_key is None  # then the generated file


def test_a_too_short_key_file_is_refused_with_a_clear_message(no_env_key, monkeypatch):
    no_env_key.parent.mkdir(parents=True)
    no_env_key.write_text("short\n")
    monkeypatch.setattr(config, "KEY_FILE_WAIT_SECONDS", 0.1)
    with pytest.raises(config.SecretKeyError, match="too short"):
        secret_key(get_settings())


def test_the_loser_of_a_creation_race_reads_the_winners_key(tmp_path):
    # Given a key file another process has just written
    path = tmp_path / "secret_key"
    path.write_text("w" * 64 + "\n")
    # When this process tries to create it
    key, made = config._create_key_file(path)
    # Then it takes the winner's key
    assert (key, made) == ("w" * 64, False)


RACER = """
import os, sys, time
from pathlib import Path
from civicgrid import config
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
print(config.secret_key(config.Settings(mode="development", var_dir=sys.argv[1])).key)
"""


def test_processes_starting_together_end_with_one_key(tmp_path):
    # Given eight processes that ask for the key at the same moment, with no key file
    env = {k: v for k, v in os.environ.items() if k != "CIVICGRID_SECRET_KEY"}
    var_dir, go = tmp_path / "var", tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(var_dir), str(go)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    time.sleep(1)  # let them import and wait
    go.touch()
    keys = [p.communicate(timeout=60)[0].strip() for p in procs]
    # Then they all use the one key that is in the file
    assert all(p.returncode == 0 for p in procs)
    assert len(set(keys)) == 1 and len(keys[0]) >= 32
    assert (var_dir / "secret_key").read_text().strip() == keys[0]
