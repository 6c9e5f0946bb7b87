"""The command centre counts every open case in the database, past the 3,000 its map draws."""

import datetime as dt

from sqlalchemy import insert, select

from civicgrid.cases import workflow
from civicgrid.cases.models import Case
from civicgrid.command import api as command_api
from civicgrid.kit.db import utcnow
from tests.factories import POINT_A, login, world

HOUR = dt.timedelta(hours=1)


def many_cases(session, n: int) -> None:
    """n copies of one reported case, in one executemany, with states and clocks such that
    every light and some closed cases occur."""
    template = dict(session.execute(select(Case.__table__)).mappings().one())
    del template["id"]
    now = utcnow()
    rows = []
    for i in range(n):
        row = {**template, "code": f"{template['code']}-{i:05d}"}
        kind = i % 5
        if kind == 0:  # red
            row.update(state="dispatched", deadline=now - HOUR, warn_at=now - 2 * HOUR)
        elif kind == 1:  # yellow
            row.update(state="in_progress", deadline=now + HOUR, warn_at=now - HOUR)
        elif kind == 2:  # green
            row.update(state="registered", deadline=now + 2 * HOUR, warn_at=now + HOUR)
        elif kind == 3:  # open, no clock
            row.update(state="resolved")
        else:  # not open
            row.update(state="closed")
        rows.append(row)
    session.execute(insert(Case.__table__), rows)


def test_the_summary_counts_every_open_case_past_the_map_limit(client, session):
    # Given more open cases than the map draws
    world(session)
    login(client, "lead")
    r = client.post(
        "/api/v1/citizen/reports",
        data={"category": "06010", "lon": str(POINT_A[0]), "lat": str(POINT_A[1])},
    )
    assert r.status_code == 201, r.text
    many_cases(session, 4200)
    session.flush()

    # When the command centre asks for its summary
    summary = client.get("/api/v1/command/summary").json()

    # Then its counters agree with an independent count over every case
    now = utcnow()
    cases = session.scalars(select(Case)).all()
    open_cases = [c for c in cases if c.state in workflow.OPEN_STATES]
    want = {"green": 0, "yellow": 0, "red": 0}
    for c in open_cases:
        light = workflow.light(c, now)
        if light:
            want[light] += 1
    assert len(open_cases) > command_api.MAP_POINTS
    today = summary["today"]
    assert today["open"] == len(open_cases) == 1 + 4 * 4200 // 5
    assert {k: today[k] for k in want} == want
    assert want["red"] == want["yellow"] == 840 and want["green"] >= 840
    assert len(summary["cases"]) == command_api.MAP_POINTS
