"""Phones: one number however it is typed, and a directory search that finds only the digits
the viewer may see (the masked 139****1234 cannot be uncovered digit by digit)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from civicgrid.cli import app as cli
from civicgrid.kit.ratelimit import _memory
from civicgrid.kit.text import BadPhone, normalise_phone
from civicgrid.org import service as org_service
from tests.factories import POINT_A, STREET_A, STREET_B, login, world

SECRET = "13911112222"  # whole to street B and admins, 139****2222 to others


@pytest.fixture()
def directory(session):
    world(session)
    org_service.create_person(
        session, name="赵处置", org_unit_code=STREET_B, phones=["139-1111-2222"]
    )
    session.flush()


def _found(client, q: str) -> bool:
    return any(
        p["name"] == "赵处置" for p in client.get("/api/v1/org/people", params={"q": q}).json()
    )


def test_anonymous_gets_401(client, directory):
    assert client.get("/api/v1/org/people", params={"q": "2222"}).status_code == 401


def test_a_masked_phone_is_found_only_by_its_visible_digits(client, directory):
    # Given a handler of street A, who sees street B's phones masked
    login(client, "ha")
    # Then the shown head and tail find the person
    for q in ("139", "13", "2222", "222", "9"):
        assert _found(client, q), q
    # but no run that reaches into the masked middle does, however it is typed
    for q in ("1391", "13911", "1111", "911112", "11112222", "13911112222", "139-1111", "1 1 1"):
        assert not _found(client, q), q
    # digit by digit, the attack of the review, learns nothing past the head
    known = "139"
    for digit in "0123456789":
        assert not _found(client, known + digit)
    # the directory page holds to the same rule
    page = client.get("/directory", params={"q": "1111"}).text
    assert "赵处置" not in page


def test_whoever_sees_the_whole_phone_finds_it_by_any_run(client, directory):
    for username in ("hb", "boss"):  # the same unit, an admin
        login(client, username)
        for q in ("1111", "13911", "911112", SECRET, "139-1111-2222"):
            assert _found(client, q), (username, q)


@pytest.mark.parametrize(
    "typed",
    [
        "13911112222",
        "139-1111-2222",
        "139 1111 2222",
        "+86 139 1111 2222",
        "0086-13911112222",
        "(139)11112222",
        "１３９１１１１２２２２",
    ],
)
def test_a_number_is_one_number_however_it_is_typed(typed):
    assert normalise_phone(typed) == SECRET


@pytest.mark.parametrize("typed", ["1234", "139x1111", "+", "1" * 21, "phone"])
def test_what_is_not_a_number_is_refused(typed):
    with pytest.raises(BadPhone):
        normalise_phone(typed)


def test_a_citizens_phone_is_kept_normalised_and_found_as_typed(client, session):
    _memory.reset()
    world(session)
    data = {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1], "phone": "+86 139 0000 2222"}
    assert client.post("/api/v1/citizen/reports", data=data).status_code == 201
    runner = CliRunner()
    r = runner.invoke(cli, ["citizen", "export", "--phone", "139-0000-2222"])
    assert r.exit_code == 0 and json.loads(r.output)[0]["phone"] == "13900002222"
    r = client.post("/api/v1/citizen/reports", data={**data, "phone": "not a phone"})
    assert r.status_code == 400


def test_the_rate_limit_counts_one_number_however_it_is_typed(client, session, monkeypatch):
    _memory.reset()
    monkeypatch.setenv("CIVICGRID_REPORTS_PER_HOUR_PER_PHONE", "2")
    world(session)
    base = {"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]}
    codes = [
        client.post("/api/v1/citizen/reports", data={**base, "phone": p}).status_code
        for p in ("13900003333", "139-0000-3333", "+86 139 0000 3333")
    ]
    assert codes == [201, 201, 429]
    _memory.reset()


def test_staff_phones_are_normalised_too(session):
    world(session)
    person = org_service.create_person(
        session, name="钱", org_unit_code=STREET_A, phones=["0451-8888 6666", "+86 138 0000 1111"]
    )
    assert person.phones == "045188886666,13800001111"
