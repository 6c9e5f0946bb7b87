"""A district's own score sheet, and the reveal: a stored plan re-run by the command from its
published plan file, slots and seed gives the checks that were drawn."""

import hashlib
import json

from typer.testing import CliRunner

from civicgrid.cli import app
from civicgrid.config import get_settings
from civicgrid.spotchecks import service
from tests.factories import SITE, login
from tests.spotchecks.test_checks import BEFORE, _plan, world  # noqa: F401 - the fixture

runner = CliRunner()
MQSB = {
    "code": "mqsb",
    "name": "门前三包",
    "name_en": "Frontage duties",
    "method": "visual",
    "sides": ["front"],
    "scale": [0, 10],
    "pass_score": 60,
    "items": [
        {"code": "clean", "name": "门前整洁", "weight": 3, "fail_below": 6, "category": "06012"},
        {"code": "order", "name": "门前秩序", "weight": 2, "fail_below": 6, "category": "06036"},
        {"code": "green", "name": "门前绿化", "weight": 5, "category": "06017"},
    ],
}


def test_a_district_sheet_is_added_and_scored(session, client, world):  # noqa: F811
    login(client, "boss")
    r = client.put("/api/v1/spotchecks/sheets", json=MQSB, headers=SITE)
    assert r.status_code == 200, r.text
    bad = {**MQSB, "code": "bad", "scale": [5, 5]}
    assert client.put("/api/v1/spotchecks/sheets", json=bad, headers=SITE).status_code == 422
    assert {s["code"] for s in client.get("/api/v1/spotchecks/sheets").json()} >= {
        "cjjt126",
        "ykljj",
        "mqsb",
    }
    _plan(session, code="M1", sheet="mqsb", n=1, slots=["2026-11-18/AM"])
    check = client.get("/api/v1/spotchecks/plans/M1/checks").json()[0]
    url = f"/api/v1/spotchecks/checks/{check['id']}"
    login(client, "sup")
    # no dry-day rule on this sheet: rain is kept, not refused
    assert client.put(url + "/weather", json={"rain": True}, headers=SITE).status_code == 200
    client.post(url + "/arrival", json={"lon": 126.7, "lat": 45.7}, headers=SITE)
    scores = {"clean": 9, "order": 8, "green": 4}
    r = client.put(url + "/entries", json={"sides": {"front": scores}}, headers=SITE)
    assert r.status_code == 200, r.text
    done = client.post(url + "/finish", headers=SITE).json()
    assert done["score"] == 3 * 9 + 2 * 8 + 5 * 4  # 63 ≥ 60, no item under its floor
    assert done["passed"] is True and done["failures"] == []


def test_the_command_re_runs_a_stored_plan_from_what_was_published(
    session,
    client,
    world,  # noqa: F811
    tmp_path,
):
    _plan(session, code="P-REV", n=1)  # 2026-W47, slots from the working calendar
    plan = service.get_plan(session, "P-REV")
    drawn = [(c.stratum, c.site_code, c.slot, c.draw_key) for c in service.queries.checks_of_plan(
        session, plan.id)]  # fmt: skip
    # what is published: the plan file, the slots, the commitment, the seed after the period
    path = tmp_path / "plan.json"
    made = runner.invoke(app, ["spotcheck", "plan-file", "P-REV", "--out", str(path)])
    assert made.exit_code == 0, made.output
    said = dict(line.split(" ", 1) for line in made.stderr.splitlines())
    assert said["commitment"] == hashlib.sha256(said["seed"].encode()).hexdigest()
    assert json.loads(path.read_text())["id"] == "P-REV"
    args = ["spotcheck", "draw", str(path), "2026-W47", "--seed", said["seed"]]
    for extra in (["--slots", said["slots"]], []):  # given, and from the working calendar
        result = runner.invoke(app, [*args, *extra, "--commitment", said["commitment"]])
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines[0] == f"commitment {said['commitment']}"
        assert [tuple(line.split(" ")) for line in lines[1:]] == drawn
    # the stored plan by its code, and the public list
    by_code = runner.invoke(app, ["spotcheck", "draw", "P-REV", "2026-W47", "--seed", plan.seed])
    assert by_code.stdout == result.stdout
    text = client.get("/api/v1/spotchecks/public/plans/P-REV/draw.txt")
    assert text.status_code == 200 and text.text == result.stdout
    unknown = runner.invoke(app, ["spotcheck", "draw", "NOPE", "2026-W47", "--seed", plan.seed])
    assert unknown.exit_code == 2


def test_the_draw_is_not_published_before_the_period_ends(session, client, world):  # noqa: F811
    service.create_plan(
        session, get_settings(), code="LATER", sheet_code="cjjt126", period="2099-01", n=1,
        now=BEFORE,
    )  # fmt: skip
    assert client.get("/api/v1/spotchecks/public/plans/LATER/draw.txt").status_code == 409
    shown = runner.invoke(app, ["spotcheck", "plan-file", "LATER"])
    assert "published after the period" in shown.stderr


def test_the_media_sweep_keeps_an_open_checks_photos(session, world, monkeypatch, tmp_path):  # noqa: F811
    from civicgrid.media import service as media_service
    from tests.images import jpeg

    monkeypatch.setenv("CIVICGRID_MEDIA_DIR", str(tmp_path))
    get_settings.cache_clear()
    _plan(session, code="PH", n=1, slots=["2026-11-18/AM"])
    check = service.queries.checks_of_plan(session, service.get_plan(session, "PH").id)[0]
    settings = get_settings()
    photo = service.add_photo(session, settings, check, "C1", "a.jpg", jpeg())
    session.flush()
    removed = media_service.sweep(session, settings, grace_seconds=0)
    assert photo.key not in removed and photo.thumb_key not in removed
    assert media_service.storage(settings).get(photo.key)
