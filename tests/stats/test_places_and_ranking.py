import io

from openpyxl import load_workbook

from tests.factories import login, user

PERIOD = {"start": "2026-03-01T00:00:00+08:00", "end": "2026-04-01T00:00:00+08:00"}


def staff(client, session):
    user(session, "lead", ["leader"], "239901")
    login(client, "lead")


def test_trend_by_day_and_month(client, imported):
    staff(client, imported)
    days = client.get("/api/v1/stats/trend", params={**PERIOD, "by": "day"}).json()["series"]
    assert len(days) == 31 and days[0]["bucket"] == "2026-03-01"
    by_day = {d["bucket"]: d for d in days}
    assert by_day["2026-03-01"] == {
        "bucket": "2026-03-01",
        "reported": 0,
        "registered": 1,
        "closed": 0,
    }  # EX-09 registered just after midnight
    assert sum(d["reported"] for d in days) == 14
    assert sum(d["registered"] for d in days) == 13
    months = client.get("/api/v1/stats/trend", params={**PERIOD, "by": "month"}).json()
    assert months["series"] == [
        {"bucket": "2026-03", "reported": 14, "registered": 13, "closed": 8}
    ]  # EX-01..07 and EX-14; EX-15 closes 04-01
    weeks = client.get("/api/v1/stats/trend", params={**PERIOD, "by": "week"}).json()
    assert weeks["series"][0]["bucket"] == "2026-02-23"  # the Monday of the week of 03-01
    assert client.get("/api/v1/stats/trend", params={**PERIOD, "by": "year"}).status_code == 400


def test_top_categories_and_hotspots(client, imported):
    staff(client, imported)
    top = client.get("/api/v1/stats/top-categories", params=PERIOD).json()
    assert top[0] == {"code": "06010", "name": "暴露垃圾", "count": 5}
    grids = client.get("/api/v1/stats/hotspots", params=PERIOD).json()
    assert sum(g["count"] for g in grids) == 14 and grids[0]["count"] >= grids[-1]["count"]
    # seven grids hold two cases each (the examples pair them): ties go by code
    assert [(g["key"], g["count"]) for g in grids[:2]] == [
        ("239901001001001", 2),
        ("239901001001002", 2),
    ]
    cells = client.get(
        "/api/v1/stats/hotspots", params={**PERIOD, "by": "h3", "resolution": 9}
    ).json()
    assert sum(c["count"] for c in cells) == 14 and len(cells[0]["boundary"]) == 6
    r = client.get("/api/v1/stats/hotspots", params={**PERIOD, "by": "h3", "resolution": 3})
    assert r.status_code == 400


def test_distributions(client, imported):
    staff(client, imported)
    d = client.get("/api/v1/stats/distributions", params=PERIOD).json()
    # reported in March and dispatched (at any time): EX-01..08, EX-12..15. Seconds, sorted:
    # 1, 2, 3, 120, 120, 600, 600, 600, 600, 600, 1800, 3630 (EX-08, dispatched in April)
    assert d["dispatch"]["count"] == 12
    assert sum(b["count"] for b in d["dispatch"]["bins"]) == 12
    assert d["dispatch"]["median_s"] == 600.0 and d["dispatch"]["p90_s"] == 1800.0
    assert d["handling"]["count"] == 9  # closed by now: EX-01..07, EX-14, EX-15


def test_ranking_and_monthly_assessment(client, imported):
    # The ranking is by the region composite of assessment.md (WAVE2), not kpis.md's:
    # 和平 0.1·100·(1 − 5/6) + 0.2·90 + 0.3·80 + 0.4·60 = 67.67;
    # 东风 0.1·100·(1 − 5/7) + 0.2·90 + 0.3·100·(2/3) + 0.4·50 = 60.86
    staff(client, imported)
    ranking = client.get("/api/v1/stats/ranking", params={**PERIOD, "group_by": "street"})
    rows = ranking.json()["rows"]
    assert [(r["key"], r["rank"], r["grade"]) for r in rows] == [
        ("239901002", 1, "C"),
        ("239901001", 2, "C"),
    ]
    assert abs(rows[0]["composite"] - (10 / 6 + 18 + 24 + 24)) < 1e-9
    assert abs(rows[1]["composite"] - (20 / 7 + 18 + 20 + 20)) < 1e-9
    r = client.get("/api/v1/stats/assessment/2026-03.xlsx")
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == [
        "街道评价",
        "社区评价",
        "网格评价",
        "部门评价",
        "监督员岗位评价",
        "受理员岗位评价",
        "派遣员岗位评价",
    ]
    values = list(book["街道评价"].values)
    assert values[0][0] == "2026-03 数字城管街道评价"
    assert values[2][:4] == ("排名", "编码", "名称", "立案数")
    assert values[3][:5] == (1, "239901002", "和平街道", 6, 4)
    assert values[4][0] == 2 and abs(values[4][11] - 60.857142857142854) < 1e-9
    assert values[4][12] == "C"
    assert values[5][:4] == ("合计", "total", "全区", 13)
    assert any(
        v[0] and str(v[0]).startswith("综合指标值 = 0.1 × (100 − 监督举报率)") for v in values
    )
    assert client.get("/api/v1/stats/assessment/March.xlsx").status_code == 400


def test_printable_assessment_page(client, imported):
    staff(client, imported)
    page = client.get("/stats/assessment/2026-03").text
    assert "2026-03 数字城管月度考核" in page
    for heading in (
        "街道评价",
        "社区评价",
        "网格评价",
        "部门评价",
        "监督员岗位评价",
        "派遣员岗位评价",
    ):
        assert heading in page
    first, second = page.index("和平街道"), page.index("东风街道")
    assert first < second  # ranked: 和平 (67.67) before 东风 (60.86)
    assert "67.67" in page and "60.86" in page and "54.5%" in page  # total on-time rate
    assert "综合指标值 = 0.1 × (100 − 监督举报率)" in page  # the formulas under the table
    assert client.get("/stats/assessment/2026-03", follow_redirects=False).status_code == 200
    client.cookies.clear()
    r = client.get("/stats/assessment/2026-03", follow_redirects=False)
    assert r.status_code == 303 and "/console/login" in r.headers["location"]
