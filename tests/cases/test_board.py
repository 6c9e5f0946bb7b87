"""The dispatch board's counts per street (issue #14 item 9): each street's colour columns,
no light included, add up to its total, and the totals match an independent count."""

from collections import Counter

from sqlalchemy import select

from civicgrid.cases import workflow
from civicgrid.cases.models import Case
from civicgrid.kit.db import utcnow
from tests.cases.test_cases_api import new_case
from tests.factories import POINT_A, POINT_B, login, world


def test_anonymous_gets_401(client, session):
    assert client.get("/api/v1/board").status_code == 401


def test_street_counts_add_up_with_cases_without_a_light(client, session):
    # Given cases with a clock (dispatched) and without one (reported, not yet dispatched)
    world(session)
    login(client, "disp")
    new_case(client, point=POINT_A)
    new_case(client, point=POINT_B)
    new_case(client, point=POINT_A, auto_dispatch=False)
    new_case(client, point=POINT_B, auto_dispatch=False)

    # When the board is read
    r = client.get("/api/v1/board")
    assert r.status_code == 200, r.text
    streets = r.json()["streets"]

    # Then every street's columns add up to its total
    for s in streets:
        assert s["green"] + s["yellow"] + s["red"] + s["none"] == s["total"], s
    assert sum(s["none"] for s in streets) >= 2
    # and the totals agree with a count made straight from the table
    now = utcnow()
    open_cases = session.scalars(select(Case).where(Case.state.in_(workflow.OPEN_STATES))).all()
    expected = Counter((c.street_code or "—", workflow.light(c, now) or "none") for c in open_cases)
    got = Counter()
    for s in streets:
        for colour in ("green", "yellow", "red", "none"):
            if s[colour]:
                got[(s["code"], colour)] = s[colour]
    assert got == expected
    assert sum(s["total"] for s in streets) == len(open_cases)


def test_board_page_labels_the_colour_columns(client, session):
    world(session)
    login(client, "disp")
    html = client.get("/board").text
    for word in ("绿灯", "黄灯", "红灯", "无灯", "合计"):
        assert word in html
