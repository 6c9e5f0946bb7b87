"""civicgrid-draw-v1 (shared/reference/spotcheck-draw.md): the reference's example, an
independent re-computation of other plans, and the command that re-runs a draw."""

import datetime as dt
import hashlib
import hmac
import json

import pytest
from typer.testing import CliRunner

from civicgrid.cli import app
from civicgrid.spotchecks import draw

runner = CliRunner()
SEED = bytes(range(32)).hex()
EXAMPLE = """\
commitment 6c86c6aac5fb24bcf5d9939cb7d7d5645ce39418f449e03b262dd4fa14b4b92b
S R2 2026-11-23/PM 14c11f3f738a753f0f45b4c6eb2300688582cee6150e2e6941a506bc42142b1a
S R1 2026-11-23/PM 5628369d5f3a2ec772746a4f9bfc191fecc0ae3eb41e14a9b163d9fa75e2c21b
"""
P1 = {"id": "P1", "strata": [{"id": "S", "n": 2, "candidates": ["R1", "R2", "R3", "R4"]}]}


def test_the_reference_example():
    plan = draw.parse_plan(P1)
    out = draw.draw(plan, "2026-W48", SEED, ["2026-11-23/AM", "2026-11-23/PM"])
    assert draw.render(SEED, out) == EXAMPLE


def test_the_reference_example_from_the_command(tmp_path):
    path = tmp_path / "p1.json"
    path.write_text(json.dumps(P1))
    result = runner.invoke(
        app,
        ["spotcheck", "draw", str(path), "2026-W48", "--seed", SEED,
         "--slots", "2026-11-23/AM,2026-11-23/PM"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == EXAMPLE


def _outside(plan: dict, period: str, seed: str, slots: list[str]) -> list[str]:
    """The reference's words, re-done here without the project's code."""
    key_bytes = bytes.fromhex(seed)
    lines = ["commitment " + hashlib.sha256(seed.encode()).hexdigest()]
    for stratum in plan["strata"]:
        keys = []
        for c in set(stratum["candidates"]):
            msg = f"civicgrid-draw-v1|{plan['id']}|{period}|{stratum['id']}|{c}".encode()
            keys.append((hmac.new(key_bytes, msg, hashlib.sha256).hexdigest(), c))
        for k, c in sorted(keys)[: stratum["n"]]:
            lines.append(f"{stratum['id']} {c} {slots[int(k[:16], 16) % len(slots)]} {k}")
    return lines


def test_other_plans_agree_with_an_independent_computation():
    seed = hashlib.sha256(b"another seed").hexdigest()
    plan = {
        "id": "XF-2026-12",
        "strata": [
            {"id": "230110001/A", "n": 3, "candidates": [f"R{i}" for i in range(20)] + ["R3"]},
            {"id": "230110002/B", "n": 5, "candidates": ["G1", "G2"]},
            {"id": "230110003/C", "n": 0, "candidates": ["G9"]},
            {"id": "道路/次干道", "n": 2, "candidates": ["香坊大街", "中山路", "赣水路"]},
        ],
    }
    days = draw.period_days("2026-12")
    slots = [f"{d}/{h}" for d in days if d.weekday() < 5 for h in ("AM", "PM")]
    got = draw.render(seed, draw.draw(draw.parse_plan(plan), "2026-12", seed, slots))
    assert got.splitlines() == _outside(plan, "2026-12", seed, slots)
    assert len(got.splitlines()) == 1 + 3 + 2 + 0 + 2
    # a changed seed gives an unrelated draw
    other = draw.draw(draw.parse_plan(plan), "2026-12", "0" * 64, slots)
    assert [d.key for d in other] != [line.split()[-1] for line in got.splitlines()[1:]]


def test_period_slots_follow_the_working_calendar():
    # 2026-W48: Monday 23rd to Friday 27th are working days: 10 slots
    slots = draw.period_slots("2026-W48", lambda d: d.weekday() < 5)
    assert len(slots) == 10
    assert slots[:3] == ["2026-11-23/AM", "2026-11-23/PM", "2026-11-24/AM"]
    assert draw.period_days("2026-02")[-1] == dt.date(2026, 2, 28)
    with pytest.raises(draw.DrawError) as refused:
        draw.period_slots("2026-W48", lambda d: False)
    assert refused.value.field == "period"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["2026-W48", "--seed", "00"], "seed"),
        (["2026-W48", "--seed", SEED.upper()], "seed"),
        (["2026-W54", "--seed", SEED], "week"),
        (["1999-12", "--seed", SEED], "2000"),
        (["2026-13", "--seed", SEED], "month"),
        (["2026-W48", "--seed", SEED, "--slots", "2026-11-23/XX"], "slot"),
        (["2026-W48", "--seed", SEED, "--slots", ","], "slot"),
    ],
)
def test_the_command_refuses_bad_input_with_exit_2(tmp_path, args, says):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(P1))
    result = runner.invoke(app, ["spotcheck", "draw", str(path), *args])
    assert result.exit_code == 2, result.output
    assert says in result.stderr


def test_a_period_with_no_working_slot_is_refused(session, tmp_path):
    # 2026-W08 is the Spring Festival week (16–22 February): no working day
    path = tmp_path / "p.json"
    path.write_text(json.dumps(P1))
    result = runner.invoke(app, ["spotcheck", "draw", str(path), "2026-W08", "--seed", SEED])
    assert result.exit_code == 2, result.output
    assert "no working day" in result.stderr


def test_the_commitment_is_checked(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(P1))
    base = ["spotcheck", "draw", str(path), "2026-W48", "--seed", SEED, "--slots", "2026-11-23/AM"]
    good = runner.invoke(app, [*base, "--commitment", draw.commitment(SEED)])
    assert good.exit_code == 0, good.output
    bad = runner.invoke(app, [*base, "--commitment", "0" * 64])
    assert bad.exit_code == 3


@pytest.mark.parametrize(
    "plan",
    [
        [],
        {"id": "P 1", "strata": []},
        {"id": "P1", "strata": [{"id": "S", "n": -1, "candidates": []}]},
        {"id": "P1", "strata": [{"id": "S|T", "n": 1, "candidates": ["a"]}]},
        {"id": "P1", "strata": [{"id": "S", "n": 1, "candidates": ["a b"]}]},
        {"id": "P1", "strata": [{"id": "S", "n": 1, "candidates": []}, {"id": "S", "n": 1,
                                                                         "candidates": []}]},
    ],
)  # fmt: skip
def test_bad_plans_are_refused(plan):
    with pytest.raises(draw.DrawError):
        draw.parse_plan(plan)
