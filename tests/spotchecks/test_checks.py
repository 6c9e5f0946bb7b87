"""Spot checks end to end through the API: a plan's draw equals the reference algorithm's,
its seed is hidden until the period ends, scores and g/m² equal an independent computation,
a failed item opens exactly one case on the right unit, a wet day is refused, the results
and the bulletin."""

import datetime as dt
import hashlib
import io
from statistics import fmean

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from civicgrid.cases import queries as case_queries
from civicgrid.cases.models import Case
from civicgrid.config import get_settings
from civicgrid.kit.timefmt import local_zone
from civicgrid.media.models import Photo
from civicgrid.org import service as org_service
from civicgrid.spotchecks import draw, service
from tests.factories import COMMUNITY_A, POINT_A, POINT_B, SITE, STREET_A, STREET_B, login
from tests.factories import world as base_world
from tests.images import jpeg

SEED = hashlib.sha256(b"spot").hexdigest()


@pytest.fixture()
def world(session):
    base_world(session)
    org_service.ensure_unit(
        session, code="239901950", name="洁城保洁公司", kind="contractor", parent_code="239901"
    )
    sites = [
        ("R-A1", "示例大街", "inner", STREET_A, POINT_A),
        ("R-A2", "示例二街", "inner", STREET_A, POINT_A),
        ("R-A3", "示例三街", "outer", STREET_A, POINT_A),
        ("R-B1", "乙大街", "inner", STREET_B, POINT_B),
        ("R-B2", "乙二街", "sidewalk", STREET_B, POINT_B),
    ]
    for code, name, grade, street, (lon, lat) in sites:
        service.save_site(
            session,
            code=code,
            name=name,
            kind="road",
            grade=grade,
            street=street,
            unit=street,
            contractor="239901950",
            lon=lon,
            lat=lat,
        )
    session.flush()


BEFORE = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)  # plans are made before their period


def _plan(session, code="P-W47", sheet="cjjt126", n=1, period="2026-W47", slots=None):
    service.create_plan(
        session, get_settings(), code=code, sheet_code=sheet, period=period, n=n, slots=slots,
        now=BEFORE, by="disp",
    )  # fmt: skip
    session.flush()


def test_a_plans_draw_is_the_reference_algorithms_and_its_seed_comes_after_the_period(
    session, client, world
):
    login(client, "disp")
    _plan(session)
    made = client.get("/api/v1/spotchecks/public/plans/P-W47").json()
    plan = service.get_plan(session, "P-W47")
    assert hashlib.sha256(plan.seed.encode()).hexdigest() == made["commitment"]
    # 2026-W47 (16–20 November) has five working days: 10 slots
    assert plan.slots[0] == "2026-11-16/AM" and len(plan.slots) == 10
    assert [s["id"] for s in plan.strata] == [
        f"{STREET_A}/inner",
        f"{STREET_A}/outer",
        f"{STREET_B}/inner",
        f"{STREET_B}/sidewalk",
    ]
    checks = client.get("/api/v1/spotchecks/plans/P-W47/checks").json()
    again = draw.draw(
        draw.parse_plan({"id": "P-W47", "strata": plan.strata}), "2026-W47", plan.seed, plan.slots
    )
    assert [(c["stratum"], c["site"], c["slot"]) for c in checks] == [
        (d.stratum, d.code, d.slot) for d in again
    ]
    # the period has ended (now is after 2026-11-23): the public answer shows the seed
    public = client.get("/api/v1/spotchecks/public/plans/P-W47").json()
    assert public["seed"] == plan.seed
    page = client.get("/spotchecks/draws")
    assert plan.seed in page.text and made["commitment"] in page.text
    # a plan for a later period keeps its seed; one for a period begun is refused
    r = client.post(
        "/api/v1/spotchecks/plans",
        json={"code": "P-2099", "sheet": "cjjt126", "period": "2099-01", "n": 1},
        headers=SITE,
    )
    assert r.status_code == 201 and r.json()["seed"] is None
    begun = {"code": "P-NOW", "sheet": "cjjt126", "period": "2026-11", "n": 1}
    r = client.post("/api/v1/spotchecks/plans", json=begun, headers=SITE)
    assert r.status_code == 422 and "period" in r.text
    assert client.get("/api/v1/spotchecks/public/plans/P-2099").json()["seed"] is None
    assert service.get_plan(session, "P-2099").seed not in client.get("/spotchecks/draws").text


def test_plans_refuse_bad_input_naming_the_field(client, world):
    login(client, "disp")
    base = {"code": "X1", "sheet": "cjjt126", "period": "2099-W47"}
    cases = [
        ({**base, "n": 1, "period": "1999-12"}, 400, "period"),
        ({**base, "n": 1, "period": "2099-W54"}, 400, "period"),
        ({**base, "n": 1, "sheet": "nope"}, 404, "nope"),
        ({**base}, 422, "strata"),
        ({**base, "strata": [{"id": "S", "n": 1, "candidates": ["R-X"]}]}, 422, "R-X"),
        ({**base, "n": 1, "slots": ["2099-11-16/XX"]}, 422, "slots"),
    ]
    for body, status, says in cases:
        r = client.post("/api/v1/spotchecks/plans", json=body, headers=SITE)
        assert r.status_code == status, (body, r.text)
        assert says in r.text
    login(client, "sup")
    r = client.post("/api/v1/spotchecks/plans", json={**base, "n": 1}, headers=SITE)
    assert r.status_code == 403


def _visual(scores_by_inspector: dict, weights=(6, 6, 4, 4)) -> float:
    """CJJ/T 126 by hand: per side the mean over inspectors of Σ wᵢ·Cᵢ; the mean of the sides."""
    sides = []
    for side in ("left", "right"):
        totals = [
            sum(w * s for w, s in zip(weights, by_side[side], strict=True))
            for by_side in scores_by_inspector.values()
        ]
        sides.append(fmean(totals))
    return round(fmean(sides), 2)


def test_a_visual_check_scores_opens_one_case_per_failed_item_on_the_right_unit(
    session, client, world
):
    login(client, "disp")
    _plan(session, n=1, slots=["2026-11-16/AM"])
    checks = client.get("/api/v1/spotchecks/plans/P-W47/checks").json()
    check = next(c for c in checks if c["site"].startswith("R-A"))
    url = f"/api/v1/spotchecks/checks/{check['id']}"
    # a wet day is refused, and so is finishing before arriving
    login(client, "sup")
    wet = client.put(url + "/weather", json={"rain": True, "humidity": 60}, headers=SITE)
    assert wet.status_code == 422 and "weather" in wet.text
    humid = client.put(url + "/weather", json={"humidity": 85}, headers=SITE)
    assert humid.status_code == 422
    windy = client.put(url + "/weather", json={"wind_force": 4, "humidity": 50}, headers=SITE)
    assert windy.status_code == 422
    assert client.post(url + "/finish", headers=SITE).status_code == 422
    r = client.post(url + "/arrival", json={"lon": POINT_A[0], "lat": POINT_A[1]}, headers=SITE)
    assert r.status_code == 200 and r.json()["arrived_at"]
    assert client.put(url + "/weather", json={"humidity": 55}, headers=SITE).status_code == 200
    # two inspectors; C4 (drain grates) averages below 3: it fails
    entered = {
        "sup": {"left": [5, 4, 4, 2], "right": [4, 4, 3, 3]},
        "sta": {"left": [4, 5, 3, 2], "right": [5, 4, 4, 2]},
    }
    for name, by_side in entered.items():
        login(client, name)
        for side, scores in by_side.items():
            for item, score in zip(("C1", "C2", "C3", "C4"), scores, strict=True):
                r = client.put(
                    url + "/entries", json={"sides": {side: {item: score}}}, headers=SITE
                )
                assert r.status_code == 200, r.text
    bad = client.put(url + "/entries", json={"sides": {"left": {"C1": 6}}}, headers=SITE)
    assert bad.status_code == 422 and "C1" in bad.text
    # a failed item needs its photo; a non-image is refused
    refused = client.post(url + "/finish", headers=SITE)
    assert refused.status_code == 422 and "C4" in refused.text
    notimage = client.post(
        url + "/photos", data={"item": "C4"}, files={"photo": ("x.jpg", b"nope")}, headers=SITE
    )
    assert notimage.status_code in (400, 422)
    ok = client.post(
        url + "/photos", data={"item": "C4"}, files={"photo": ("c4.jpg", jpeg())}, headers=SITE
    )
    assert ok.status_code == 201, ok.text
    done = client.post(url + "/finish", headers=SITE)
    assert done.status_code == 200, done.text
    result = done.json()
    expected = _visual({k: {s: v for s, v in d.items()} for k, d in entered.items()})
    assert result["score"] == expected
    assert result["passed"] is False
    assert [f["item"] for f in result["failures"]] == ["C4"]
    # exactly one case, source spotcheck, on street A's office, with the photo, linked back
    cases = session.scalars(select(Case).where(Case.source == "spotcheck")).all()
    assert [c.code for c in cases] == [result["failures"][0]["case"]]
    case = case_queries.case_by_code(session, cases[0].code)
    assert (case.unit_code, case.category_code) == (STREET_A, "06011")
    assert f"#{check['id']}" in case.description
    link = case_queries.report_payloads(session, [case.id])[case.id]["spotcheck"]
    assert (link["check"], link["item"], link["plan"]) == (check["id"], "C4", "P-W47")
    photos = session.scalar(select(func.count()).select_from(Photo).where(Photo.case_id == case.id))
    assert photos == 1
    # done is done
    again = client.post(url + "/finish", headers=SITE)
    assert again.status_code == 409
    assert client.put(url + "/weather", json={"humidity": 50}, headers=SITE).status_code == 409
    assert session.scalar(select(func.count()).select_from(Case)) == 1
    page = client.get(f"/spotchecks/checks/{check['id']}")
    assert page.status_code == 200 and cases[0].code in page.text


def _weigh_and_finish(client, check, grams):
    url = f"/api/v1/spotchecks/checks/{check['id']}"
    assert client.post(url + "/arrival", json={"lon": 126.7, "lat": 45.7}, headers=SITE).is_success
    # saved as it goes: one point at a time, in any order
    for i in reversed(range(len(grams))):
        points = [None] * (i + 1)
        points[i] = grams[i]
        assert client.put(url + "/entries", json={"points": points}, headers=SITE).is_success
    r = client.post(url + "/finish", headers=SITE)
    if r.status_code == 422 and "dust" in r.text:
        client.post(url + "/photos", data={"item": "dust"}, files={"photo": ("d.png", jpeg())},
                    headers=SITE)  # fmt: skip
        r = client.post(url + "/finish", headers=SITE)
    assert r.status_code == 200, r.text
    return r.json()


def test_weights_give_g_per_m2_against_the_grade_limit_and_the_results(session, client, world):
    login(client, "disp")
    _plan(session, code="G1", sheet="ykljj", n=5, period="2026-11",
          slots=["2026-11-16/AM", "2026-11-16/PM"])  # fmt: skip
    checks = {c["site"]: c for c in client.get("/api/v1/spotchecks/plans/G1/checks").json()}
    assert set(checks) == {"R-A1", "R-A2", "R-A3", "R-B1", "R-B2"}
    login(client, "sup")
    weighed = {
        "R-A1": [4.0, 5.5, 6.0],  # inner, 5.17 > 5: fails
        "R-A2": [3.1, 2.2, 4.4],  # inner, passes
        "R-A3": [7.9, 8.0, 8.1],  # outer (8), passes at 8.0
        "R-B1": [1.0, 1.0, 1.04],  # weighed to 0.1 g
        "R-B2": [30, 10, 25],  # sidewalk (20): 21.67 fails
    }
    out = {code: _weigh_and_finish(client, checks[code], g) for code, g in weighed.items()}
    for code, grams in weighed.items():
        assert out[code]["g_m2"] == round(fmean(round(g, 1) for g in grams), 2), code
    assert {c for c, r in out.items() if not r["passed"]} == {"R-A1", "R-B2"}
    cases = session.scalars(select(Case).where(Case.source == "spotcheck")).all()
    assert sorted(c.unit_code for c in cases) == [STREET_A, STREET_B]
    # per street: A passed 2 of 3, B 1 of 2
    login(client, "lead")
    rows = client.get("/api/v1/spotchecks/results?period=2026-11&by=street").json()
    assert [(r["key"], r["checks"], r["passed"]) for r in rows] == [
        (STREET_A, 3, 2),
        (STREET_B, 2, 1),
    ]
    roads = client.get("/api/v1/spotchecks/results?period=2026-11&by=road").json()
    assert roads[-1]["key"] == "R-B2" and roads[-1]["rank"] == 5
    contractor = client.get("/api/v1/spotchecks/results?period=2026-11&by=contractor").json()
    assert contractor[0]["checks"] == 5 and contractor[0]["pass_rate"] == 0.6
    assert client.get("/api/v1/spotchecks/results?period=1999-11").status_code == 400
    book = client.get("/api/v1/spotchecks/bulletin.xlsx?period=2026-11")
    assert book.status_code == 200
    ws = load_workbook(io.BytesIO(book.content))["道路"]
    assert [r[1] for r in ws.iter_rows(min_row=2, values_only=True)] == [r["key"] for r in roads]
    page = client.get("/spotchecks/bulletin?period=2026-11")
    assert page.status_code == 200 and "乙二街" in page.text


def test_the_inspectors_day_page_lists_the_days_checks(session, client, world):
    login(client, "disp")
    _plan(session, n=1, slots=["2026-11-17/PM"])
    login(client, "sup")
    page = client.get("/spotchecks?day=2026-11-17")
    assert page.status_code == 200
    shown = client.get("/api/v1/spotchecks/checks?day=2026-11-17").json()
    assert len(shown) == 4 and all(c["slot"] == "2026-11-17/PM" for c in shown)
    for c in shown:
        assert c["site_name"] in page.text
    assert client.get("/spotchecks?day=1999-01-01").status_code == 400
    login(client, "ha")
    assert client.get("/spotchecks").status_code == 403
    assert client.get("/api/v1/spotchecks/checks").status_code == 403


def test_arrival_time_from_the_phone_is_bounded(session, client, world):
    login(client, "disp")
    _plan(session, n=1, slots=["2026-11-17/PM"])
    check = client.get("/api/v1/spotchecks/plans/P-W47/checks").json()[0]
    url = f"/api/v1/spotchecks/checks/{check['id']}/arrival"
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    r = client.post(url, json={"lon": 126.7, "lat": 45.7, "at": future}, headers=SITE)
    assert r.status_code == 422 and "at" in r.text
    _ = COMMUNITY_A


def test_a_check_is_not_started_before_its_drawn_slot(session, client, world):
    """Knowing the road ahead is what the draw prevents: an arrival before the slot's day is
    refused (409), on the slot's day it is taken."""
    login(client, "disp")
    slot_day = dt.datetime.now(dt.UTC).astimezone(local_zone()).date() + dt.timedelta(days=2)
    week = f"{slot_day.isocalendar().year}-W{slot_day.isocalendar().week:02d}"
    _plan(session, code="P-SOON", period=week, slots=[f"{slot_day.isoformat()}/AM"])
    check = client.get("/api/v1/spotchecks/plans/P-SOON/checks").json()[0]
    url = f"/api/v1/spotchecks/checks/{check['id']}/arrival"
    login(client, "sup")
    early = client.post(url, json={"lon": 126.7, "lat": 45.7}, headers=SITE)
    assert early.status_code == 409 and slot_day.isoformat() in early.json()["message"]["zh"]
    assert client.get(f"/api/v1/spotchecks/checks/{check['id']}").json()["arrived_at"] is None
