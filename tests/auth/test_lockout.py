"""Sign-in lockout (issue 12 #3): per (address, account), per address for spraying, and a
slow-down, never a lock, per account."""

import datetime as dt
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from civicgrid.auth import service
from civicgrid.auth.models import LoginAttempt
from civicgrid.config import Settings, get_settings
from tests.factories import PASSWORD, SITE, small_geography, user


@pytest.fixture()
def people(session):
    small_geography(session)
    user(session, "boss", ["admin"], "239901")
    user(session, "h1", ["handler"], "239901001")


@pytest.fixture(autouse=True)
def fast_verify(monkeypatch):
    """argon2 takes up to a second on a busy machine: here a password check is a comparison
    (tests/auth/test_timing.py checks that every attempt pays for one real verification)."""
    from civicgrid.auth import passwords

    monkeypatch.setattr(passwords, "verify", lambda password_hash, password: password == PASSWORD)


def from_address(app, address: str) -> TestClient:
    return TestClient(app, client=(address, 50000), headers=SITE)


def attempt(client: TestClient, username: str, password: str):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_five_failures_from_one_address_lock_that_address_out_of_that_account_only(app, people):
    # Given five wrong passwords for h1 from address A
    a, b = from_address(app, "10.0.0.1"), from_address(app, "10.0.0.2")
    for _ in range(5):
        assert attempt(a, "h1", "wrong-password").status_code == 401
    # When A tries again, even with the right password, Then it is refused for 15 minutes
    r = attempt(a, "h1", PASSWORD)
    assert r.status_code == 429 and "15" in r.json()["detail"]
    # And A may still sign in to another account
    assert attempt(a, "boss", PASSWORD).status_code == 200
    # And h1 signs in at once from address B, which has not failed
    assert attempt(b, "h1", PASSWORD).status_code == 200
    assert b.get("/api/v1/auth/me").json()["username"] == "h1"


def test_the_right_password_from_another_address_is_delayed_not_refused(app, people, monkeypatch):
    # Given a slow-down of at most 1 s and five failures on h1 from address A
    monkeypatch.setenv("CIVICGRID_LOGIN_DELAY_MAX_SECONDS", "1")
    get_settings.cache_clear()
    a, b = from_address(app, "10.0.0.1"), from_address(app, "10.0.0.2")
    for _ in range(5):
        attempt(a, "h1", "wrong-password")
    # When h1 signs in from address B with the right password
    started = time.monotonic()
    r = attempt(b, "h1", PASSWORD)
    # Then it works, after the account's delay (0.25 * 2**4 s, capped at 1 s)
    assert r.status_code == 200
    assert time.monotonic() - started >= 1


def test_a_success_clears_the_accounts_slow_down(session, people):
    settings = Settings(mode="test", login_delay_max_seconds=5)

    def delay(address: str) -> float:
        return service.begin_sign_in(
            session, username="h1", address=address, settings=settings
        ).delay

    # Given three failures on h1 from two addresses
    assert delay("10.0.0.1") == 0
    assert delay("10.0.0.1") == 0.25
    pending = service.begin_sign_in(session, username="h1", address="10.0.0.2", settings=settings)
    assert pending.delay == 0.5
    # When the third attempt turns out right
    service.finish_sign_in(session, pending, password=PASSWORD)
    # Then the next attempt, from anywhere, is not delayed
    assert delay("10.0.0.3") == 0


def test_the_delay_grows_with_the_failures_and_is_capped():
    settings = Settings(mode="test", login_delay_max_seconds=5)
    delays = [service.sign_in_delay(n, settings) for n in range(8)]
    assert delays == [0, 0.25, 0.5, 1, 2, 4, 5, 5]
    assert service.sign_in_delay(10**6, settings) == 5


def test_spraying_from_one_address_locks_that_address_for_every_account(app, people, monkeypatch):
    # Given an address that failed on 8 different accounts (the limit set to 8 for speed)
    monkeypatch.setenv("CIVICGRID_LOGIN_MAX_FAILURES_PER_ADDRESS", "8")
    get_settings.cache_clear()
    sprayer, other = from_address(app, "10.0.0.66"), from_address(app, "10.0.0.7")
    for i in range(8):
        assert attempt(sprayer, f"user{i}", "Summer2024!").status_code == 401
    # When it tries an account it has never tried, with the right password
    r = attempt(sprayer, "boss", PASSWORD)
    # Then it is refused; another address is not
    assert r.status_code == 429
    assert attempt(other, "boss", PASSWORD).status_code == 200


def test_the_address_limit_is_20_by_default_and_higher_than_the_account_one():
    settings = Settings(mode="test")
    assert settings.login_max_failures == 5
    assert settings.login_max_failures_per_address == 20


def test_a_success_does_not_clear_a_spraying_address(app, people, monkeypatch):
    # Given an address with a valid account that sprays others
    monkeypatch.setenv("CIVICGRID_LOGIN_MAX_FAILURES_PER_ADDRESS", "4")
    get_settings.cache_clear()
    sprayer = from_address(app, "10.0.0.66")
    for i in range(2):
        attempt(sprayer, f"user{i}", "Summer2024!")
    # When it signs in to its own account between the failures
    assert attempt(sprayer, "h1", PASSWORD).status_code == 200
    for i in range(2, 4):
        attempt(sprayer, f"user{i}", "Summer2024!")
    # Then the failures still add up to the address limit
    assert attempt(sprayer, "h1", PASSWORD).status_code == 429


def test_refused_attempts_are_not_recorded_and_the_lock_lifts_after_15_minutes(
    app, people, session
):
    # Given address A locked out of h1
    a = from_address(app, "10.0.0.1")
    for _ in range(5):
        attempt(a, "h1", "wrong-password")
    for _ in range(3):
        assert attempt(a, "h1", PASSWORD).status_code == 429
    # Then the refusals did not count as attempts (the lock does not extend itself)
    count = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.username == "h1")
    assert session.scalar(count) == 5
    # When 15 minutes have passed since the failures
    for row in session.scalars(select(LoginAttempt)):
        row.at -= dt.timedelta(minutes=16)
    session.commit()
    # Then A may sign in again
    assert attempt(a, "h1", PASSWORD).status_code == 200


def test_the_sign_in_page_shares_the_lockout_with_the_api(app, people):
    # Given four failures through the API and one through the page, from address A
    a = from_address(app, "10.0.0.1")
    for _ in range(4):
        attempt(a, "h1", "wrong-password")
    page = a.post(
        "/console/login",
        data={"username": "h1", "password": "wrong-password"},
        follow_redirects=False,
    )
    assert page.status_code == 401
    # When A uses the page with the right password
    page = a.post(
        "/console/login", data={"username": "h1", "password": PASSWORD}, follow_redirects=False
    )
    # Then it is locked out there too, with the message on the page
    assert page.status_code == 429 and "15" in page.text
    # And the page signs in from another address, with a session cookie
    b = from_address(app, "10.0.0.2")
    page = b.post(
        "/console/login", data={"username": "h1", "password": PASSWORD}, follow_redirects=False
    )
    assert page.status_code == 303 and "civicgrid_session=" in page.headers["set-cookie"]
    assert b.get("/api/v1/auth/me").json()["username"] == "h1"


def test_parallel_guesses_from_one_address_stop_at_the_limit(committed):
    from concurrent.futures import ThreadPoolExecutor

    from civicgrid.auth.exceptions import AccountLocked
    from civicgrid.kit.db import session_scope

    # Given an account and twelve guesses from one address arriving at once
    with session_scope() as s:
        small_geography(s)
        user(s, "h1", ["handler"], "239901001")
    settings = Settings(mode="test")

    def guess(_):
        try:
            with session_scope() as s:
                service.begin_sign_in(s, username="h1", address="10.0.0.9", settings=settings)
            return "checked"
        except AccountLocked:
            return "locked"

    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(guess, range(12)))
    # Then exactly login_max_failures of them get their password checked
    assert outcomes.count("checked") == 5 and outcomes.count("locked") == 7
