"""Sign-in costs the same whether or not the account exists (issue 12 #17)."""

import statistics
import time

import pytest
from fastapi.testclient import TestClient

from civicgrid.auth import passwords
from tests.factories import PASSWORD, small_geography, user


@pytest.fixture()
def people(session):
    small_geography(session)
    for name in ("k1", "k2", "k3", "off"):
        user(session, name, ["handler"], "239901001")
    from civicgrid.auth import service

    service.set_disabled(session, service.get_user(session, "off"), True)
    session.commit()


def attempt(client: TestClient, username: str, password: str):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_unknown_and_disabled_accounts_are_checked_against_a_dummy_hash(
    client, people, monkeypatch
):
    # Given a record of every password verification
    checked = []
    real = passwords.verify

    def record(password_hash, password):
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify", record)
    # When an unknown, a disabled (with its right password) and a known account sign in
    assert attempt(client, "nobody", PASSWORD).status_code == 401
    assert attempt(client, "off", PASSWORD).status_code == 401
    assert attempt(client, "k1", "wrong-password").status_code == 401
    # Then each cost one argon2 verification: the first two against the one dummy hash
    dummy = passwords.dummy_hash()
    assert checked[:2] == [dummy, dummy]
    assert checked[2] != dummy and checked[2].startswith("$argon2")
    assert len(checked) == 3
    # And the answers do not tell them apart
    bodies = {attempt(client, n, "wrong-password").text for n in ("nobody2", "off", "k2")}
    assert len(bodies) == 1


def test_an_unknown_username_takes_about_as_long_as_a_known_one(client, people):
    # Warm up: the dummy hash is made once per process, at the first unknown username
    attempt(client, "warm-up", "wrong-password")

    def seconds(username: str) -> float:
        started = time.perf_counter()
        assert attempt(client, username, "wrong-password").status_code == 401
        return time.perf_counter() - started

    # One attempt per account, so that no slow-down applies
    known = statistics.median(seconds(n) for n in ("k1", "k2", "k3"))
    unknown = statistics.median(seconds(n) for n in ("ghost1", "ghost2", "ghost3"))
    # Before the fix: 9 ms against 208 ms; now both pay one argon2 verification
    assert unknown > 0.5 * known, (unknown, known)
