"""Work logs (issue 20, items 5-7): the draft written from the day's case actions and tracked
route, lines added and corrected, submission, the leader's review, append-only after
submission, who has not submitted, the monthly exports."""

from __future__ import annotations

import datetime as dt
import io
import json
import math

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from civicgrid.cases import policy, workflow
from civicgrid.cases import service as case_service
from civicgrid.config import Settings
from civicgrid.kit.timefmt import local_zone
from civicgrid.media import service as media_service
from civicgrid.worklogs import queries as worklog_queries
from civicgrid.worklogs import service
from tests.factories import POINT_A, STREET_B, login, user
from tests.images import jpeg
from tests.worklogs.day import WALK, at, handler_day


def events_of(session, username: str, day: dt.date) -> list[tuple]:
    """The independent reading: (case code, action, time) of every event this user took that
    local day, straight from the tables."""
    zone = local_zone()
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    rows = session.execute(
        text(
            "SELECT c.code, e.action, e.at FROM case_events e JOIN cases c ON c.id = e.case_id "
            "WHERE e.actor = :actor"
        ),
        {"actor": username},
    ).all()
    out = []
    for code, action, when in rows:
        when = when if isinstance(when, dt.datetime) else dt.datetime.fromisoformat(when)
        when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        if start <= when < start + dt.timedelta(days=1):
            out.append((code, action, when.astimezone(zone).strftime("%H:%M")))
    return sorted(out)


def walked_m() -> float:
    r = 6_378_137.0
    total = 0.0
    for (lon1, lat1), (lon2, lat2) in zip(WALK, WALK[1:], strict=False):
        x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
        total += r * math.hypot(x, math.radians(lat2 - lat1))
    return total


def case_lines(log: dict) -> list[tuple]:
    zone = local_zone()
    names = {zh: code for code, zh in workflow.ACTION_NAMES_ZH.items()}
    return sorted(
        (
            e["case_code"],
            names[e["text"].split(" ")[0]],
            dt.datetime.fromisoformat(e["at"]).astimezone(zone).strftime("%H:%M"),
        )
        for e in log["entries"]
        if e["source"] == "case"
    )


def test_a_handler_s_day_of_actions_becomes_a_draft_with_every_action(client, session):
    data = handler_day(session)
    day = data["day"]
    login(client, "ha")
    r = client.post(f"/api/v1/worklogs/mine/{day}")
    assert r.status_code == 200, r.text
    log = r.json()
    assert log["state"] == "draft" and log["day"] == day.isoformat()
    expected = events_of(session, "ha", day)
    # every action of ha's day, and nothing else (not the dispatcher's, not the day before's)
    assert len(expected) == 4
    assert case_lines(log) == expected
    assert data["old"] not in {e["case_code"] for e in log["entries"]}
    one = next(e for e in log["entries"] if e["text"].startswith("处置反馈"))
    assert "已清理" in one["text"] and (one["lon"], one["lat"]) == pytest.approx(POINT_A)
    # the tracked route: one line, and the distance on the log
    route = [e for e in log["entries"] if e["source"] == "route"]
    assert len(route) == 1 and "09:00–09:10" in route[0]["text"]
    assert log["distance_m"] == pytest.approx(walked_m(), rel=0.002)
    shape = client.get(f"/api/v1/worklogs/{log['id']}/route").json()
    assert len(shape["points"]) == len(WALK)
    # writing the draft again adds only what is new: a later action of the day
    ha = policy.Actor("ha", "handler", frozenset({data["two"].street_code}))
    case_service.transition(
        session, Settings(), data["two"], "report_done", actor=ha, at=at(day, 16), photos=1
    )
    again = client.post(f"/api/v1/worklogs/mine/{day}").json()
    assert again["id"] == log["id"]
    assert case_lines(again) == events_of(session, "ha", day)
    assert len(again["entries"]) == len(log["entries"]) + 1
    # another person's draft is their own: hb's day has no line of ha's
    login(client, "hb")
    theirs = client.post(f"/api/v1/worklogs/mine/{day}").json()
    assert theirs["entries"] == [] and theirs["distance_m"] is None
    assert client.get(f"/api/v1/worklogs/{log['id']}").status_code == 404


def test_write_submit_return_amend_approve_and_append_only(client, session):
    data = handler_day(session)
    day = data["day"]
    login(client, "ha")
    log = client.post(f"/api/v1/worklogs/mine/{day}").json()
    url = f"/api/v1/worklogs/{log['id']}"
    # the draft: add, correct, remove
    added = client.post(
        f"{url}/entries",
        json={"at": f"{day}T14:30:00", "text": "巡查通天街", "lon": POINT_A[0], "lat": POINT_A[1]},
    )
    assert added.status_code == 201, added.text
    assert added.json()["amendment"] is False
    first = log["entries"][0]
    fixed = client.put(
        f"{url}/entries/{first['id']}",
        json={
            "at": first["at"],
            "text": first["text"] + "（已核实）",
            "case_code": data["codes"][0],
        },
    )
    assert fixed.status_code == 200 and fixed.json()["text"].endswith("（已核实）")
    route = next(e for e in log["entries"] if e["source"] == "route")
    assert client.delete(f"{url}/entries/{route['id']}").status_code == 204
    # refusals name the field
    bad = client.post(
        f"{url}/entries", json={"at": f"{day}T14:30:00", "text": "x", "case_code": "NOPE"}
    )
    assert bad.status_code == 400 and "case_code" in bad.json()["detail"]
    late = client.post(f"{url}/entries", json={"at": "2026-01-01T08:00:00", "text": "x"})
    assert late.status_code == 400 and "at" in late.json()["detail"]
    assert client.post("/api/v1/worklogs/mine/2026-13-01").status_code == 400
    assert client.post("/api/v1/worklogs/mine/1999-01-01").status_code == 400
    photo = client.post(
        f"{url}/entries/{added.json()['id']}/photos",
        files=[("photos", ("a.jpg", jpeg(), "image/jpeg"))],
    )
    assert photo.status_code == 200, photo.text
    assert client.get(photo.json()[0]["thumb_url"]).headers["content-type"] == "image/jpeg"
    # a handler does not review; the leader does not review a draft
    assert client.post(f"{url}/review", json={"decision": "approve"}).status_code == 403
    # submit
    sent = client.post(f"{url}/submit")
    assert sent.status_code == 200 and sent.json()["state"] == "submitted"
    n = len(sent.json()["entries"])
    # append-only from now on
    assert (
        client.put(
            f"{url}/entries/{first['id']}", json={"at": first["at"], "text": "改"}
        ).status_code
        == 409
    )
    assert client.delete(f"{url}/entries/{first['id']}").status_code == 409
    assert client.post(f"{url}/submit").status_code == 409
    # the leader returns it (a return says why), the author amends and submits again
    login(client, "lead")
    assert client.post(f"{url}/review", json={"decision": "return"}).status_code == 400
    back = client.post(f"{url}/review", json={"decision": "return", "comment": "补充下午情况"})
    assert back.status_code == 200 and back.json()["state"] == "returned"
    login(client, "ha")
    amend = client.post(
        f"{url}/entries", json={"at": f"{day}T15:00:00", "text": "下午清理完毕", "corrects": 1}
    )
    assert amend.status_code == 201 and amend.json()["amendment"] is True
    assert amend.json()["corrects"] == 1 and amend.json()["created_by"] == "ha"
    again = client.post(f"{url}/submit").json()
    assert again["state"] == "submitted" and len(again["entries"]) == n + 1
    # nothing submitted before was changed: the first n lines as they were
    assert again["entries"][:n] == sent.json()["entries"]
    login(client, "lead")
    done = client.post(f"{url}/review", json={"decision": "approve"}).json()
    assert done["state"] == "approved" and done["reviewed_by"] == "lead"
    assert [h["action"] for h in done["history"]] == [
        "submit",
        "return",
        "amend",
        "submit",
        "approve",
    ]
    login(client, "ha")
    final = client.post(f"{url}/entries", json={"at": f"{day}T16:00:00", "text": "再加"})
    assert final.status_code == 409
    # the photo's file is kept by the media sweep (which may remove other tests' leftovers)
    kept = set(worklog_queries.stored_keys(session))
    assert kept and not kept & set(media_service.sweep(session, Settings()))


def test_the_leader_sees_who_has_not_submitted(client, session):
    data = handler_day(session)
    day = data["day"]
    login(client, "ha")
    log = client.post(f"/api/v1/worklogs/mine/{day}").json()
    client.post(f"/api/v1/worklogs/{log['id']}/submit")
    login(client, "hb")
    client.post(f"/api/v1/worklogs/mine/{day}")  # a draft, not submitted
    login(client, "lead")
    r = client.get("/api/v1/worklogs/missing", params={"day": day.isoformat()})
    assert r.status_code == 200, r.text
    missing = {p["username"]: p["state"] for u in r.json() for p in u["missing"]}
    # held against the accounts: everyone with a writer's role, but ha who submitted
    writers = {
        name
        for name, roles in session.execute(text("SELECT username, roles FROM users")).all()
        if set(roles if isinstance(roles, list) else json.loads(roles)) & {"handler", "supervisor"}
    }
    assert set(missing) == writers - {"ha"}
    assert missing["hb"] == "draft" and missing["hs"] == "none"
    one_unit = client.get(
        "/api/v1/worklogs/missing", params={"day": day.isoformat(), "unit": log["unit"]}
    ).json()
    # the unit and its sub-units (the supervisor's community): not street B's hb
    assert {u["unit"] for u in one_unit} == {log["unit"], "239901001001"}
    assert "hb" not in {p["username"] for u in one_unit for p in u["missing"]}
    assert client.get("/api/v1/worklogs/missing", params={"day": "soon"}).status_code == 400
    login(client, "ha")
    assert (
        client.get("/api/v1/worklogs/missing", params={"day": day.isoformat()}).status_code == 403
    )
    page = client.get(f"/worklogs/team?day={day}")
    assert page.status_code == 403


def test_monthly_exports_per_person_and_unit(client, session):
    data = handler_day(session)
    day = data["day"]
    month = day.isoformat()[:7]
    login(client, "ha")
    log = client.post(f"/api/v1/worklogs/mine/{day}").json()
    r = client.get(
        "/api/v1/worklogs/export.xlsx", params={"month": month, "person": log["person_id"]}
    )
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[1]) == list(service.HEADERS) and rows[1][0] == "日期"
    assert len(rows) - 2 == len(log["entries"])
    assert {row[9] for row in rows[2:] if row[9]} == set(data["codes"])
    printed = client.get(f"/worklogs/print?month={month}&person={log['person_id']}")
    assert printed.status_code == 200 and data["codes"][0] in printed.text
    login(client, "hb")
    other = client.get(
        "/api/v1/worklogs/export.xlsx", params={"month": month, "person": log["person_id"]}
    )
    assert other.status_code == 403
    assert (
        client.get(
            "/api/v1/worklogs/export.xlsx", params={"month": month, "unit": log["unit"]}
        ).status_code
        == 403
    )
    login(client, "lead")
    unit = client.get("/api/v1/worklogs/export.xlsx", params={"month": month, "unit": log["unit"]})
    assert unit.status_code == 200
    lines = list(load_workbook(io.BytesIO(unit.content)).active.iter_rows(values_only=True))[2:]
    assert len(lines) == len(log["entries"])
    assert (
        client.get("/api/v1/worklogs/export.xlsx", params={"month": "2026-13"}).status_code == 400
    )
    assert client.get("/api/v1/worklogs/export.xlsx", params={"month": month}).status_code == 400


def test_only_the_log_s_own_unit_leader_reviews_and_photos_are_checked(client, session):
    data = handler_day(session)
    day = data["day"]
    user(session, "lb", ["leader"], STREET_B)  # a leader of the other street
    login(client, "ha")
    log = client.post(f"/api/v1/worklogs/mine/{day}").json()
    url = f"/api/v1/worklogs/{log['id']}"
    line = log["entries"][0]["id"]
    fake = client.post(
        f"{url}/entries/{line}/photos", files=[("photos", ("a.jpg", b"not an image", "image/jpeg"))]
    )
    assert fake.status_code == 400, fake.text
    assert client.post(f"{url}/submit").status_code == 200
    login(client, "lb")
    assert client.get(url).status_code == 404
    assert client.post(f"{url}/review", json={"decision": "approve"}).status_code == 404
    missing = client.get("/api/v1/worklogs/missing", params={"day": day.isoformat()}).json()
    assert {u["unit"] for u in missing} == {STREET_B}
    login(client, "lead")
    assert client.get(url).json()["may_review"] is True
    ok = client.post(f"{url}/review", json={"decision": "approve", "comment": "好"})
    assert ok.status_code == 200 and ok.json()["may_write"] is False
