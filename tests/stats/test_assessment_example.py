"""reference/assessment.md against a worked example computed by hand (below, case by case).

April 2026 on the default calendar (08:30–12:00, 13:00–17:30; 4–6 April is the Qingming
holiday, 11–12 a weekend). Grids: G1 = 东风1, G2 = 东风2 (sup1's), G5 = 和平1 (sup2's),
G8 = 和平4 (sup3's, no cases). Limits: registration 60, dispatch 30, check 120 working minutes.

A1 supervisor report in G1 by sup1 at 11:30; accepted by op1 at 13:30:00 = its limit across
   lunch (on time); dispatched by dp1 to 东风街道 at 14:00:00 = 30 min after (on time);
   report_done 16:30, verified by sup1 next day at 09:30:00 = 120 min after, over the night.
A2 supervisor report in G1 by sup1 on Fri 04-03 17:00; the holiday weekend: accepted on
   Tue 04-07 09:00:01, one second past 09:00:00 (late); dispatched at 09:30:01 (on time to
   the second); report_done 10:00, verify_fail by sup1 11:00 (on time, rework), report_done
   17:00, verify_pass 04-08 10:00:01 (limit 10:00:00: late).
A3 citizen report in G2 at 08:00 (before work: the limit counts from 08:30); accepted 09:30
   (on time); dispatched by dp1 to the department at 09:40 (on time), returned 10:00 (a
   wrong dispatch), dispatched again by dp1 to 东风街道 at 10:31 (limit 10:30 from the
   return: late, but right); report_done 04-09 13:30 after its 12:00 deadline; verified by
   sup2, who is not G2's supervisor (sup1's check is not on time).
A4 hotline case in G5 accepted and dispatched by the system (to the department) on 04-30
   16:00; report_done 17:00 before the 17:30 deadline; verified on 05-06, after the cut-off:
   the department handled it on time, kpis.md has it overdue and open.
A5 supervisor report in G5 by sup2, accepted by op1 (on time), then rejected: not right.
A6 supervisor report in G5 by sup2, rejected without an accept: not valid. Not in P.
A7 reported and accepted in March (not in P, the accept not counted); dispatched by dp1 on
   04-01 08:34:59, within 30 min of the March accept (limit 04-01 08:55:00); report_done at
   lunch (12:30), verified by sup1 at 13:00 (the limit counts from 13:00).
A9 no location (outside every grid), citizen report Fri 04-10 17:20, accepted by op1 Mon
   04-13 09:20:00 = over the weekend exactly at the limit; never dispatched.
op2, dp2 and sup3 did nothing.
"""

import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from civicgrid.cases import history
from civicgrid.cli import app as cli_app
from civicgrid.config import get_settings
from civicgrid.geo import service as geo_service
from civicgrid.stats import assessment
from tests.factories import department, login, small_geography, user

TZ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 4, 1, tzinfo=TZ)
END = dt.datetime(2026, 5, 1, tzinfo=TZ)
NOW = dt.datetime(2026, 11, 1, tzinfo=TZ)
G1, G2, G5, G8 = "239901001001001", "239901001001002", "239901002001001", "239901002001004"
U1, DEPT = "239901001", "239901901"
SPOTS = {G1: (126.705, 45.705), G2: (126.715, 45.705), G5: (126.725, 45.705)}


def ev(at: str, action: str, by: str | None = None, **extra) -> dict:
    e = {"at": f"2026-{at}+08:00", "action": action, **extra}
    if by:
        e["by"] = by
    return e


def case(code: str, source: str, grid: str | None, events: list[dict]) -> dict:
    c = {"code": code, "source": source, "category": "06010", "urgency": "normal"}
    if grid:
        c.update(lon=SPOTS[grid][0], lat=SPOTS[grid][1], datum="gcj02")
    return {**c, "events": events}


def dispatch(at, by, unit, deadline):
    return ev(at, "dispatch", by, unit=unit, deadline=f"2026-{deadline}+08:00")


CASES = [
    case(
        "A1",
        "supervisor",
        G1,
        [
            ev("04-01T11:30:00", "report", "sup1"),
            ev("04-01T13:30:00", "accept", "op1"),
            dispatch("04-01T14:00:00", "dp1", U1, "04-02T17:30:00"),
            ev("04-01T14:10:00", "take", "h1"),
            ev("04-01T16:30:00", "report_done", "h1"),
            ev("04-02T09:30:00", "verify_pass", "sup1"),
        ],
    ),
    case(
        "A2",
        "supervisor",
        G1,
        [
            ev("04-03T17:00:00", "report", "sup1"),
            ev("04-07T09:00:01", "accept", "op1"),
            dispatch("04-07T09:30:01", "dp1", U1, "04-07T17:30:00"),
            ev("04-07T09:40:00", "take", "h1"),
            ev("04-07T10:00:00", "report_done", "h1"),
            ev("04-07T11:00:00", "verify_fail", "sup1", note="仍有垃圾"),
            ev("04-07T17:00:00", "report_done", "h1"),
            ev("04-08T10:00:01", "verify_pass", "sup1"),
        ],
    ),
    case(
        "A3",
        "citizen",
        G2,
        [
            ev("04-08T08:00:00", "report"),
            ev("04-08T09:30:00", "accept", "op1"),
            dispatch("04-08T09:40:00", "dp1", DEPT, "04-08T17:30:00"),
            ev("04-08T10:00:00", "return", "h1", note="不属本单位", public=True),
            dispatch("04-08T10:31:00", "dp1", U1, "04-09T12:00:00"),
            ev("04-08T10:40:00", "take", "h1"),
            ev("04-09T13:30:00", "report_done", "h1"),
            ev("04-09T14:00:00", "verify_pass", "sup2"),
        ],
    ),
    case(
        "A4",
        "hotline",
        G5,
        [
            ev("04-30T16:00:00", "report"),
            ev("04-30T16:00:00", "accept", "system"),
            dispatch("04-30T16:00:00", "system", DEPT, "04-30T17:30:00"),
            ev("04-30T16:10:00", "take", "h1"),
            ev("04-30T17:00:00", "report_done", "h1"),
            ev("05-06T09:00:00", "verify_pass", "sup2"),
        ],
    ),
    case(
        "A5",
        "supervisor",
        G5,
        [
            ev("04-13T09:00:00", "report", "sup2"),
            ev("04-13T09:10:00", "accept", "op1"),
            ev("04-13T09:20:00", "reject", "op1", note="重复"),
        ],
    ),
    case(
        "A6",
        "supervisor",
        G5,
        [
            ev("04-14T10:00:00", "report", "sup2"),
            ev("04-14T10:30:00", "reject", "op1", note="不属实"),
        ],
    ),
    case(
        "A7",
        "citizen",
        G1,
        [
            ev("03-31T17:20:00", "report"),
            ev("03-31T17:25:00", "accept", "op1"),
            dispatch("04-01T08:34:59", "dp1", U1, "04-01T12:00:00"),
            ev("04-01T08:40:00", "take", "h1"),
            ev("04-01T12:30:00", "report_done", "h1"),
            ev("04-01T13:00:00", "verify_pass", "sup1"),
        ],
    ),
    case(
        "A9",
        "citizen",
        None,
        [
            ev("04-10T17:20:00", "report"),
            ev("04-13T09:20:00", "accept", "op1"),
        ],
    ),
]
LINES = [json.dumps(c, ensure_ascii=False) for c in CASES]

# --- the figures, by hand ----------------------------------------------------------------------
# region: registered, grids, per grid, band score, public, public rate, closure, on time, composite
# 东风 (A1 A2 A3): due 3 closed 3 on time 2 (A3 late); 0.1·100·(2/3) + 0.2·90 + 30 + 0.4·100·(2/3)
# 和平 (A4 A5; A6 only reported): due 1 (A4), closed 0; 0.1·50 + 0.2·90
# total: P = A1 A2 A3 A4 A5 A9; due 4 closed 3 on time 2; public A3 A4 A9
STREETS = {
    "239901001": (3, 4, 0.75, 90, 1, 1 / 3, 1.0, 2 / 3, 20 / 3 + 18 + 30 + 80 / 3, "B"),
    "239901002": (2, 4, 0.5, 90, 1, 0.5, 0.0, 0.0, 23.0, "E"),
}
REGION_TOTAL = (6, 8, 0.75, 90, 3, 0.5, 0.75, 0.5, 5 + 18 + 22.5 + 20, "C")
GRIDS = {
    G1: (2, 1, 2.0, 90, 0, 0.0, 1.0, 1.0, 10 + 18 + 30 + 40, "A"),
    G2: (1, 1, 1.0, 90, 1, 1.0, 1.0, 0.0, 0 + 18 + 30 + 0, "D"),
    G5: (2, 1, 2.0, 90, 1, 0.5, 0.0, 0.0, 5 + 18, "E"),
}
REGION_KEYS = (
    "registered",
    "grids",
    "registered_per_grid",
    "registered_score",
    "public_registered",
    "public_report_rate",
    "closure_rate",
    "on_time_rate",
    "composite",
    "grade",
)
# department: registered, score, due, handled, on time, handle rate, on-time rate, reworked,
# rework rate, composite. 东风街道: A1 A2 A3 (A3's last dispatch), A3 handled late, A2 reworked.
# The department: A4 only (A3 went back): handled on time though verified after the cut-off.
# Total: all of P (A5 and A9 never dispatched count as registered only).
DEPARTMENT_KEYS = (
    "registered",
    "registered_score",
    "due_handle",
    "handled",
    "handled_on_time",
    "handle_rate",
    "on_time_handle_rate",
    "reworked",
    "rework_rate",
    "composite",
    "grade",
)
DEPARTMENTS = {
    U1: (3, 100, 3, 3, 2, 1.0, 2 / 3, 1, 1 / 3, 10 + 30 + 20 + 20, "B"),
    DEPT: (1, 100, 1, 1, 1, 1.0, 1.0, 0, 0.0, 100.0, "A"),
}
DEPARTMENT_TOTAL = (6, 100, 4, 4, 3, 1.0, 0.75, 1, 0.25, 10 + 30 + 22.5 + 22.5, "B")
POST_KEYS = {
    "supervisor": (
        "patrol_reported",
        "patrol_valid",
        "valid_rate",
        "grid_registered",
        "missed",
        "missed_rate",
        "checks_due",
        "checks_on_time",
        "check_rate",
        "composite",
        "grade",
    ),
    "operator": (
        "accepted",
        "accepted_on_time",
        "accepted_right",
        "accept_on_time_rate",
        "accept_right_rate",
        "accepted_score",
        "composite",
        "grade",
    ),
    "dispatcher": (
        "dispatches",
        "dispatches_wrong",
        "dispatch_right_rate",
        "dispatches_on_time",
        "dispatch_on_time_rate",
        "dispatch_score",
        "composite",
        "grade",
    ),
}
NOTHING = {
    "supervisor": (0, 0, None, 0, 0, None, 0, 0, None, None, None),
    "operator": (0, 0, 0, None, None, 40, None, None),
    "dispatcher": (0, 0, None, 0, None, 40, None, None),
}
POSTS = {
    "supervisor": {
        # sup1: reports A1 A2 (both valid); grids G1 G2: P = A1 A2 A3, missed A3; checks
        # A1 (on time), A2 ×2 (on time, one second late), A3 (checked by sup2), A7 (on time)
        "sup1": (2, 2, 1.0, 3, 1, 1 / 3, 5, 3, 0.6, 50 + 25 * 2 / 3 + 15, "B"),
        # sup2: reports A5 (valid) A6 (not); G5: P = A4 A5, missed A4; check A4 after cut-off
        "sup2": (2, 1, 0.5, 2, 1, 0.5, 1, 0, 0.0, 25 + 12.5 + 0, "E"),
        "sup3": NOTHING["supervisor"],
        "total": (4, 3, 0.75, 5, 2, 0.4, 6, 3, 0.5, 37.5 + 15 + 12.5, "C"),
    },
    "operator": {
        # op1: A1 A2(late) A3 A5(rejected) A9; the system: A4
        "op1": (5, 4, 4, 0.8, 0.8, 40, 10 + 32 + 28, "C"),
        "op2": NOTHING["operator"],
        "system": (1, 1, 1, 1.0, 1.0, 40, 85.0, "B"),
        "total": (6, 5, 5, 5 / 6, 5 / 6, 40, 10 + 40 * 5 / 6 + 35 * 5 / 6, "C"),
    },
    "dispatcher": {
        # dp1: A1, A2, A3 (wrong, on time), A3 again (late, right), A7; the system: A4
        "dp1": (5, 1, 0.8, 4, 0.8, 40, 8 + 32 + 32, "C"),
        "dp2": NOTHING["dispatcher"],
        "system": (1, 0, 1.0, 1, 1.0, 40, 88.0, "B"),
        "total": (6, 1, 5 / 6, 5, 5 / 6, 40, 8 + 80 * 5 / 6, "C"),
    },
}


def same(got: dict, keys, want, where: str) -> None:
    for key, w in zip(keys, want, strict=True):
        g = got[key]
        if w is None or isinstance(w, str):
            assert g == w, f"{where} {key}: {g!r} != {w!r}"
        else:
            assert g is not None and abs(g - w) <= 1e-9, f"{where} {key}: {g!r} != {w!r}"


def people(session):
    """The example's accounts and the supervisors' grids."""
    for name, role in (
        ("sup1", "supervisor"),
        ("sup2", "supervisor"),
        ("sup3", "supervisor"),
        ("op1", "operator"),
        ("op2", "operator"),
        ("dp1", "dispatcher"),
        ("dp2", "dispatcher"),
        ("h1", "handler"),
        ("lead", "leader"),
    ):
        user(session, name, [role], U1 if role != "leader" else "239901")
    geo_service.set_responsible_areas(session, "sup1", [G1, G2])
    geo_service.set_responsible_areas(session, "sup2", [G5])
    geo_service.set_responsible_areas(session, "sup3", [G8])
    session.flush()


@pytest.fixture()
def world(session):
    small_geography(session)
    department(session, DEPT)
    people(session)
    report = history.import_lines(LINES)  # what import-cases runs
    assert not report.skipped
    return session


def table(session, **which) -> dict:
    return assessment.assessment(session, start=START, end=END, now=NOW, **which)


@pytest.mark.parametrize("level", ["street", "community", "grid"])
def test_regions(world, level):
    report = table(world, subject="region", level=level)
    assert report["cutoff"] == "2026-05-01T00:00:00+08:00"
    want = {
        "street": STREETS,
        "community": {k + "001": v[:1] + (4,) + v[2:] for k, v in STREETS.items()},
        "grid": GRIDS,
    }[level]
    rows = {r["key"]: r for r in report["rows"]}
    assert set(rows) == set(want)
    for key, figures in want.items():
        same(rows[key], REGION_KEYS, figures, key)
    same(report["total"], REGION_KEYS, REGION_TOTAL, "total")


@pytest.mark.parametrize("fold_all", [False, True], ids=["counted", "folded"])
def test_departments(world, fold_all):
    report = table(world, subject="department", fold_all=fold_all)
    rows = {r["key"]: r for r in report["rows"]}
    assert set(rows) == set(DEPARTMENTS)
    for key, figures in DEPARTMENTS.items():
        same(rows[key], DEPARTMENT_KEYS, figures, key)
    same(report["total"], DEPARTMENT_KEYS, DEPARTMENT_TOTAL, "total")
    assert rows[DEPT]["rank"] == 1 and rows[U1]["rank"] == 2


@pytest.mark.parametrize("fold_all", [False, True], ids=["counted", "folded"])
@pytest.mark.parametrize("post", ["supervisor", "operator", "dispatcher"])
def test_posts(world, post, fold_all):
    # counted by the database from each event's reference, and folded from the events
    report = table(world, subject="post", post=post, fold_all=fold_all)
    want = POSTS[post]
    rows = {r["key"]: r for r in report["rows"]}
    assert set(rows) == set(want) - {"total"}  # every holder, the system where it acted
    for key, figures in want.items():
        got = report["total"] if key == "total" else rows[key]
        same(got, POST_KEYS[post], figures, key)


def test_a_limit_set_longer_turns_the_late_ones_on_time(world, monkeypatch):
    # registration 61 minutes: A2's accept (one second late at 60) is on time
    monkeypatch.setenv("CIVICGRID_ASSESSMENT_LIMIT_REGISTRATION_MINUTES", "61")
    get_settings.cache_clear()
    row = {r["key"]: r for r in table(world, subject="post", post="operator")["rows"]}["op1"]
    assert row["accepted_on_time"] == 5


def test_api_cli_and_csv_agree(world, client):
    login(client, "lead")
    params = {"subject": "post", "post": "dispatcher", "start": "2026-04-01", "end": "2026-05-01"}
    got = client.get("/api/v1/stats/assessment", params=params)
    assert got.status_code == 200, got.text
    rows = {r["key"]: r for r in got.json()["rows"]}
    same(rows["dp1"], POST_KEYS["dispatcher"], POSTS["dispatcher"]["dp1"], "api dp1")
    result = CliRunner().invoke(
        cli_app,
        ["assessment", "--subject", "region", "--level", "grid"]
        + ["--start", "2026-04-01", "--end", "2026-05-01"],
    )
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout)
    assert {r["key"]: r["composite"] for r in cli["rows"]} == pytest.approx(
        {k: v[8] for k, v in GRIDS.items()}
    )
    csv_text = client.get(
        "/api/v1/stats/assessment", params={"subject": "department", **_period(), "format": "csv"}
    ).text
    head, zh, *body = csv_text.splitlines()
    assert head.split(",")[:4] == ["key", "name", "registered", "registered_score"]
    assert zh.split(",")[:4] == ["编码", "名称", "立案数", "立案数分值"]
    assert body[-1].startswith("total,合计,6,100")
    xlsx = client.get(
        "/api/v1/stats/assessment",
        params={"subject": "region", "level": "street", **_period(), "format": "xlsx"},
    )
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    values = list(ws.values)
    assert values[1][2] == "立案数" and values[-1][0] == "total"
    assert abs(values[-1][10] - REGION_TOTAL[8]) < 1e-9


def _period():
    return {"start": "2026-04-01", "end": "2026-05-01"}


def test_people_see_their_own_post_row_only(world, client):
    # Given a dispatcher, When they ask for the dispatchers' table, Then only their own row
    login(client, "dp1")
    r = client.get(
        "/api/v1/stats/assessment", params={"subject": "post", "post": "dispatcher"} | _period()
    )
    assert r.status_code == 200
    assert [(row["key"], row["rank"]) for row in r.json()["rows"]] == [("dp1", 2)]
    # another post's table is refused, and so is any post's for a handler
    r = client.get(
        "/api/v1/stats/assessment", params={"subject": "post", "post": "operator"} | _period()
    )
    assert r.status_code == 403
    client.cookies.clear()
    login(client, "h1")
    for post in ("supervisor", "operator", "dispatcher"):
        r = client.get(
            "/api/v1/stats/assessment", params={"subject": "post", "post": post} | _period()
        )
        assert r.status_code == 403
    # places and departments are not people's rows
    r = client.get("/api/v1/stats/assessment", params={"subject": "department"} | _period())
    assert r.status_code == 200
    # the monthly workbook leaves the posts out for them
    book = load_workbook(io.BytesIO(client.get("/api/v1/stats/assessment/2026-04.xlsx").content))
    assert book.sheetnames == ["街道评价", "社区评价", "网格评价", "部门评价"]
    client.cookies.clear()
    login(client, "lead")
    r = client.get(
        "/api/v1/stats/assessment", params={"subject": "post", "post": "operator"} | _period()
    )
    assert {row["key"] for row in r.json()["rows"]} == {"op1", "op2", "system"}
    client.cookies.clear()
    assert (
        client.get(
            "/api/v1/stats/assessment", params={"subject": "department"} | _period()
        ).status_code
        == 401
    )


def test_bad_choices_are_refused(world, client):
    login(client, "lead")
    for params in (
        {"subject": "weather"},
        {"subject": "region"},
        {"subject": "region", "level": "city"},
        {"subject": "post", "post": "handler"},
    ):
        r = client.get("/api/v1/stats/assessment", params=params | _period())
        assert r.status_code == 400, params


def test_export_keeps_by_and_public(world):
    lines = list(history.export_lines(world, codes=["A3", "A4"]))
    a3, a4 = (json.loads(line) for line in lines)
    assert a3["events"][3] == {
        "at": "2026-04-08T10:00:00+08:00",
        "action": "return",
        "by": "h1",
        "note": "不属本单位",
        "public": True,
    }
    assert "by" not in a3["events"][0]  # the citizen
    assert a4["events"][2]["by"] == "system"


def test_the_console_shows_a_card_of_ones_own_post_rows_only_to_post_holders(world, client):
    login(client, "dp1")
    page = client.get("/console").text
    assert 'id="my-assessment"' in page and 'data-posts="dispatcher"' in page
    assert "/static/js/my-assessment.js" in page
    client.cookies.clear()
    login(client, "h1")
    assert 'id="my-assessment"' not in client.get("/console").text


def test_the_admin_page_shows_the_settings(world, client, monkeypatch):
    monkeypatch.setenv("CIVICGRID_ASSESSMENT_LIMIT_DISPATCH_MINUTES", "45")
    get_settings.cache_clear()
    user(world, "root", ["admin"], "239901")
    login(client, "root")
    page = client.get("/admin").text
    assert "assessment_limit_dispatch_minutes</code> = 45" in page
    assert "public_report 0.1" in page and "≤ 1200 → 90; 其余 → 100" in page


def test_the_spotcheck_weight_and_urged_cases_reach_the_ranking(world, client, monkeypatch):
    # Given a weight of 0.5 and a spot-check score of 40 for 东风街道's office (the hook the app
    # fills), When the units are ranked, Then 东风 ranks by 0.5·80 + 0.5·40 = 60
    import civicgrid.app  # noqa: F401 - fills the hooks
    from civicgrid.stats import hooks

    monkeypatch.setenv("CIVICGRID_SPOTCHECK_ASSESSMENT_WEIGHT", "0.5")
    get_settings.cache_clear()
    monkeypatch.setattr(hooks, "_spotcheck_scores", lambda s, month, by: {U1: 40.0})
    monkeypatch.setattr(hooks, "_urged_cases", lambda s, a, b: {U1: 2})
    login(client, "lead")
    rows = client.get("/api/v1/stats/ranking", params={**_period(), "group_by": "unit"}).json()
    got = {r["key"]: r for r in rows["rows"]}
    assert abs(got[U1]["score"] - 60) < 1e-9 and abs(got[U1]["composite"] - 80) < 1e-9
    assert got[DEPT]["score"] == 100 and got[DEPT]["spotcheck_score"] is None
    assert got[U1]["urged"] == 2 and got[DEPT]["urged"] == 0
    assert [r["key"] for r in rows["rows"]] == [DEPT, U1]


def test_through_the_command_line_import_cases_then_every_table(session, tmp_path):
    # Given the file imported with `civicgrid import-cases`
    small_geography(session)
    department(session, DEPT)
    people(session)
    path = tmp_path / "example.jsonl"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli_app, ["import-cases", str(path)])
    assert result.exit_code == 0 and "imported 8 cases" in result.output, result.output
    period = ["--start", "2026-04-01", "--end", "2026-05-01"]
    # When every table is asked for, Then each is the hand-computed one
    for which, want, keys, total in (
        (["--subject", "region", "--level", "street"], STREETS, REGION_KEYS, REGION_TOTAL),
        (["--subject", "region", "--level", "grid"], GRIDS, REGION_KEYS, REGION_TOTAL),
        (["--subject", "department"], DEPARTMENTS, DEPARTMENT_KEYS, DEPARTMENT_TOTAL),
        *(
            (["--subject", "post", "--post", post], POSTS[post], POST_KEYS[post], None)
            for post in POSTS
        ),
    ):
        result = runner.invoke(cli_app, ["assessment", *which, *period])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        rows = {r["key"]: r for r in report["rows"]}
        for key, figures in want.items():
            got = report["total"] if key == "total" else rows[key]
            same(got, keys, figures, f"{which} {key}")
        if total is not None:
            same(report["total"], keys, total, f"{which} total")
    out = tmp_path / "sup.xlsx"
    result = runner.invoke(
        cli_app,
        ["assessment", "--subject", "post", "--post", "supervisor", *period]
        + ["--format", "xlsx", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    values = list(load_workbook(out).active.values)
    assert values[0][:3] == ("key", "name", "patrol_reported")
    assert values[1][:3] == ("编码", "名称", "上报数")
    by_key = {v[0]: v for v in values[2:]}
    assert by_key["sup1"][2:11] == (2, 2, 1, 3, 1, pytest.approx(1 / 3), 5, 3, 0.6)
    assert by_key["sup3"][2:11] == (0, 0, None, 0, 0, None, 0, 0, None)
    result = runner.invoke(cli_app, ["assessment", "--subject", "post", "--post", "mayor", *period])
    assert result.exit_code != 0 and "post" in result.output


def test_the_migration_gives_existing_events_the_references_import_gives(world):
    # Given the example's events as import wrote them, When their references are erased and
    # the assessment acts migration's (0019) backfill runs, Then every event and case has them
    # again, the same
    import importlib.util
    from pathlib import Path

    from sqlalchemy import select, update

    from civicgrid.cases.models import Case, CaseEvent

    path = next(
        Path(assessment.__file__).parents[1].glob("migrations/versions/*_assessment_acts.py")
    )
    spec = importlib.util.spec_from_file_location("assessment_acts", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    event_cols = (CaseEvent.id, CaseEvent.ref_at, CaseEvent.ref_by, CaseEvent.wait_key)
    case_cols = [getattr(Case, n) for n in (*module.CASE_TIMES, *module.CASE_WHO)]
    before = (
        world.execute(select(*event_cols).order_by(CaseEvent.id)).all(),
        world.execute(select(Case.id, *case_cols).order_by(Case.id)).all(),
    )
    assert sum(1 for r in before[0] if r.wait_key is not None) == 21  # accepts, dispatches, checks
    world.execute(update(CaseEvent).values(ref_at=None, ref_by=None, wait_key=None))
    world.execute(update(Case).values({c.key: None for c in case_cols}))
    module._backfill(world.connection())
    world.expire_all()
    after = (
        world.execute(select(*event_cols).order_by(CaseEvent.id)).all(),
        world.execute(select(Case.id, *case_cols).order_by(Case.id)).all(),
    )
    assert after == before


@pytest.mark.parametrize(
    "now",
    ["2026-04-01T14:00:00", "2026-04-07T10:30:00", "2026-04-08T10:15:00", "2026-04-30T16:30:00"],
)
def test_counted_and_folded_agree_at_any_cut_off(world, now):
    # a cut-off inside the period leaves acts unanswered and cases half-way
    at = dt.datetime.fromisoformat(now).replace(tzinfo=TZ)
    for which in (
        {"subject": "department"},
        *({"subject": "post", "post": p} for p in ("supervisor", "operator", "dispatcher")),
    ):
        kw = {"start": START, "end": END, "now": at, **which}
        counted = assessment.assessment(world, **kw)
        folded = assessment.assessment(world, fold_all=True, **kw)
        assert counted == folded, (now, which)


@pytest.mark.parametrize("day", [5, 9, 10, 20, 32])
def test_counted_and_folded_agree_on_the_kpi_examples(imported, day):
    # the fifteen KPI corner cases (suspensions, extensions, returns, cases outside the grids)
    start = dt.datetime(2026, 3, 1, tzinfo=TZ)
    now = start + dt.timedelta(days=day)
    end = dt.datetime(2026, 4, 1, tzinfo=TZ)
    kw = {"subject": "department", "start": start, "end": end, "now": now}
    assert assessment.assessment(imported, **kw) == assessment.assessment(
        imported, fold_all=True, **kw
    )
