"""Extreme dates and numbers are bad input: 400 saying the range, never a 500 (OverflowError,
SQLite's integer overflow) and never a change."""

from __future__ import annotations

import pytest

from tests.factories import POINT_A, login, world

FAR = ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59+08:00", "1999-12-31", "2100-01-01"]


@pytest.fixture()
def dispatcher(client, session):
    world(session)
    login(client, "disp")
    return client


@pytest.mark.parametrize("when", FAR)
@pytest.mark.parametrize(
    "path, name",
    [
        ("/api/v1/stats/kpis?start={w}&end=2026-02-01", "start"),
        ("/api/v1/stats/kpis?start=2026-01-01&end={w}", "end"),
        ("/api/v1/stats/trend?start={w}&end=2026-02-01", "start"),
        ("/api/v1/stats/hotspots?start=2026-01-01&end={w}", "end"),
        ("/api/v1/cases?reported_from={w}", "reported_from"),
        ("/api/v1/cases?reported_to={w}", "reported_to"),
    ],
)
def test_dates_outside_2000_to_2099_in_queries_are_a_400(dispatcher, path, name, when):
    r = dispatcher.get(path.format(w=when.replace("+", "%2B")))
    assert r.status_code == 400, r.text
    assert name in r.json()["detail"] and "2000" in r.json()["detail"]


def test_a_month_outside_the_range_is_a_400(dispatcher):
    assert dispatcher.get("/api/v1/stats/assessment/0001-01.xlsx").status_code == 400
    r = dispatcher.get("/stats/assessment/9999-12")
    assert r.status_code == 400


@pytest.mark.parametrize("when", FAR[:2])
def test_a_dispatch_deadline_or_an_extension_far_away_is_a_400(client, session, when):
    # Given a case waiting for dispatch and one in progress
    world(session)
    login(client, "sup")
    code = client.post(
        "/api/v1/cases", json={"category": "06010", "lon": POINT_A[0], "lat": POINT_A[1]}
    ).json()["code"]
    login(client, "disp")
    assert client.post(f"/api/v1/cases/{code}/accept", json={}).status_code == 200
    # When the dispatcher gives a deadline in year 1 or 9999, Then 400 and nothing changes
    r = client.post(f"/api/v1/cases/{code}/dispatch", json={"unit": "239901001", "deadline": when})
    assert r.status_code == 400 and "2000" in r.json()["detail"]
    assert client.get(f"/api/v1/cases/{code}").json()["state"] == "registered"
    # And an extension asked until then is refused the same way
    r = client.post(f"/api/v1/cases/{code}/dispatch", json={"unit": "239901001"})
    assert r.status_code == 200
    login(client, "ha")
    assert client.post(f"/api/v1/cases/{code}/take", json={}).status_code == 200
    r = client.post(f"/api/v1/cases/{code}/extend-request", json={"until": when, "note": "雪大"})
    assert r.status_code == 400 and "2000" in r.json()["detail"]


def test_calendar_entries_outside_the_range_are_a_400(client, session):
    world(session)
    login(client, "boss")
    r = client.put("/api/v1/calendar/days", json={"day": "9999-12-31", "is_workday": True})
    assert r.status_code == 400 and "2099" in r.json()["detail"]
    r = client.put("/api/v1/calendar/years", json={"year": 3000})
    assert r.status_code == 400 and "2099" in r.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/cases?limit=100000000000000000000",
        "/api/v1/cases?cursor=100000000000000000000",
        "/api/v1/org/people?limit=100000000000000000000",
        "/api/v1/stats/hotspots?start=2026-01-01&end=2026-02-01&by=h3&resolution=99",
        "/api/v1/org/people?limit=-1",
    ],
)
def test_huge_or_negative_numbers_in_queries_are_a_400(dispatcher, path):
    r = dispatcher.get(path)
    assert r.status_code == 400, r.text


def test_huge_numbers_in_bodies_are_a_400(client, session):
    world(session)
    login(client, "boss")
    r = client.post(
        "/api/v1/dispatch-rules", json={"match": "*", "target": "street", "priority": 10**20}
    )
    assert r.status_code == 400
    r = client.put(
        "/api/v1/time-limits", json={"scope": "default", "limit": 1e300, "unit": "working_hours"}
    )
    assert r.status_code == 400


def test_the_deadline_command_refuses_far_dates_and_limits():
    from typer.testing import CliRunner

    from civicgrid.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["deadline", "--start", "9999-12-31T09:00:00+08:00", "--limit", "8"])
    assert r.exit_code == 2 and "2099" in r.output
    r = runner.invoke(app, ["deadline", "--start", "2026-03-02T09:00:00+08:00", "--limit", "1e300"])
    assert r.exit_code == 2
