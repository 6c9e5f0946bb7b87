"""SQLite's write lock is taken at a transaction's first write, not at its start: a request
that reads and then works slowly (a sign-in's argon2 check) holds nobody up meanwhile."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from civicgrid.auth import passwords
from civicgrid.auth.models import LoginAttempt, User
from civicgrid.citizen import service as citizen_service
from civicgrid.config import get_settings
from civicgrid.kit import db
from tests.factories import POINT_A, world


def test_a_slow_sign_in_does_not_delay_a_concurrent_report(committed):
    # Given the small world (with its users), committed
    with committed() as s:
        world(s)
        s.commit()
    reading_done, report_done = threading.Event(), threading.Event()
    hashes: list[float] = []  # when each argon2 check of the sign-in ended

    def sign_in() -> None:
        # a transaction that reads the account, checks the password (argon2, ~150 ms a time)
        # until the report is in or 10 s have passed, then records the attempt
        with db.session_scope() as s:
            stored = s.scalar(select(User.password_hash).where(User.username == "disp"))
            reading_done.set()
            deadline = time.monotonic() + 10
            while not report_done.is_set() and time.monotonic() < deadline:
                passwords.verify(stored, "wrong password")
                hashes.append(time.monotonic())
            s.add(LoginAttempt(username="disp", address="test", ok=False, at=db.utcnow()))

    signer = threading.Thread(target=sign_in)
    signer.start()
    assert reading_done.wait(10)
    # When a citizen reports while the sign-in is hashing
    with db.session_scope() as s:
        done = citizen_service.submit(
            s, get_settings(), category="06010", lon=POINT_A[0], lat=POINT_A[1]
        )
    reported = time.monotonic()
    report_done.set()
    signer.join(20)
    # Then the report committed while the sign-in was still at its hashes (it ends its loop
    # only after the report), and both transactions committed
    assert not signer.is_alive()
    assert hashes and hashes[-1] >= reported, "the report waited for the sign-in"
    assert hashes[-1] - hashes[0] < 9, "the sign-in hashed until its deadline: report held up"
    with db.session_scope(read_only=True) as s:
        assert s.scalar(select(LoginAttempt.id).where(LoginAttempt.username == "disp"))
        assert citizen_service.find_tracked(s, done.case.code, done.secret)


def test_a_transaction_that_asks_writes_at_once_before_its_reads(committed):
    """write_now: the sign-in's attempt count is read under the lock (SQLite), so a burst of
    guesses cannot all pass it before any is recorded."""
    first = committed()
    db.write_now(first)
    started = threading.Event()
    finished: list[float] = []

    def second() -> None:
        with db.session_scope() as s:
            started.set()
            db.write_now(s)
            finished.append(time.monotonic())

    t = threading.Thread(target=second)
    t.start()
    assert started.wait(10)
    time.sleep(0.3)
    released = time.monotonic()
    first.commit()
    first.close()
    t.join(10)
    assert finished
    if first.get_bind().dialect.name == "sqlite":
        assert finished[0] >= released  # it queued behind the first
