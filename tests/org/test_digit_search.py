"""The directory finds a phone by any run of digits the viewer may see (issue #14 item 9),
held against an expectation computed here, independently of the service: whoever sees a phone
whole finds it by any run of its digits; whoever sees it masked (138****5678) only by a run
inside its shown head or tail, never by a hidden digit."""

from __future__ import annotations

import random

import pytest

from civicgrid.org import service as org_service
from tests.factories import STREET_A, STREET_B, login, world

UNITS = (STREET_A, STREET_B)


@pytest.fixture()
def people(session):
    """Forty people in streets A and B with random mobile and landline numbers (seeded), and
    the one of the issue's example: 13812345678."""
    world(session)
    rng = random.Random(14)
    made = {"例子": (STREET_B, ["13812345678"])}
    for n in range(40):
        phones = [f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"]
        if rng.random() < 0.3:
            phones.append(f"0451{rng.randrange(10**8):08d}")
        made[f"人员{n:02d}"] = (rng.choice(UNITS), phones)
    for name, (unit, phones) in made.items():
        org_service.create_person(session, name=name, org_unit_code=unit, phones=phones)
    session.flush()
    return made


def shown_runs(phone: str, whole: bool) -> list[str]:
    """The stretches of a phone's digits a viewer reads: all of it, or the head of three and
    the tail of four of a masked one (the masking rule the directory promises)."""
    if whole:
        return [phone]
    if len(phone) <= 7:
        return [phone[:1]]
    return [phone[:3], phone[-4:]]


def expected(people: dict, q: str, viewer_unit: str | None) -> set[str]:
    return {
        name
        for name, (unit, phones) in people.items()
        if any(
            q in run
            for phone in phones
            for run in shown_runs(phone, viewer_unit is None or viewer_unit == unit)
        )
    }


def found(client, q: str) -> set[str]:
    r = client.get("/api/v1/org/people", params={"q": q, "limit": 500})
    assert r.status_code == 200, r.text
    return {p["name"] for p in r.json()} - {"ha", "hb", "sta", "boss", "disp"}


def queries(people: dict, rng: random.Random) -> list[str]:
    """Runs of every length cut from the phones at random places, and some no phone has."""
    out = ["3456", "138", "5678", "1234", "2345678", "0451", "99999999"]
    for _unit, phones in people.values():
        for phone in phones:
            for _ in range(3):
                size = rng.randint(2, len(phone))
                start = rng.randint(0, len(phone) - size)
                out.append(phone[start : start + size])
    return sorted(set(out))


@pytest.mark.parametrize(("username", "unit"), [("boss", None), ("ha", STREET_A), ("hb", STREET_B)])
def test_any_run_of_visible_digits_finds_the_phone_and_no_hidden_one_does(
    client, people, username, unit
):
    # Given a viewer: an admin (every phone whole) or a handler (whole in their own street,
    # masked in the other)
    login(client, username)
    for q in queries(people, random.Random(username)):
        # When the directory is searched for a run of digits, Then it lists exactly the people
        # showing that run to this viewer
        assert found(client, q) == expected(people, q, unit), (username, q)


def test_the_issues_example(client, people):
    # 13812345678 is in street B: "3456" finds it for B's handler and an admin, not for A's
    for username, finds in (("hb", True), ("boss", True), ("ha", False)):
        login(client, username)
        assert ("例子" in found(client, "3456")) is finds, username
        assert "例子" in found(client, "5678")  # the tail is shown to everyone
        # typed with spaces, dashes or full-width digits, it is the same run
        assert ("例子" in found(client, "34-56")) is finds
        assert ("例子" in found(client, "３４５６")) is finds
