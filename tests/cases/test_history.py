import copy
import json

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from civicgrid.cases import history
from civicgrid.cases.models import Case, CaseEvent
from civicgrid.cli import app
from tests.conftest import DATA
from tests.factories import small_geography

runner = CliRunner()
DERIVED = ("limit_unit", "warn_at")


def example_lines() -> list[str]:
    return (DATA / "cases-small.jsonl").read_text(encoding="utf-8").splitlines()


def normalised(obj: dict) -> dict:
    return {**obj, "events": [dict(e) for e in obj["events"]]}


def test_import_then_export_gives_the_same_events_field_for_field(session):
    small_geography(session)
    report = history.import_lines(example_lines())
    assert report.imported == 15
    exported = [json.loads(line) for line in history.export_lines(session)]
    original = [json.loads(line) for line in example_lines()]
    # oldest first: new cases are numbered in the order they were reported
    assert [e["events"][0]["at"] for e in exported] == sorted(
        o["events"][0]["at"] for o in original
    )
    exported.sort(key=lambda obj: obj["code"])
    for got, want in zip(exported, original, strict=True):
        # what the file left out and the import derived is exported too (and read back as is)
        derived = [e for e in got["events"] if e["action"] == "dispatch"]
        assert all("limit_unit" in e and "warn_at" in e for e in derived)
        given = [{k: v for k, v in e.items() if k not in DERIVED} for e in got["events"]]
        assert given == want["events"], want["code"]
        for key in ("code", "source", "category", "urgency", "address", "description"):
            assert got[key] == want[key]
        assert abs(got["lon"] - want["lon"]) < 1e-9 and abs(got["lat"] - want["lat"]) < 1e-9


def test_imported_rows_are_the_projection_of_their_events(session):
    small_geography(session)
    history.import_lines(example_lines())
    ex05 = session.scalar(select(Case).where(Case.code == "EX-05"))
    assert ex05.state == "closed" and ex05.unit_code == "239901002"
    assert ex05.deadline.isoformat() == "2026-03-09T14:00:00+00:00"  # 12:00+08 plus 10 hours
    assert ex05.street_code == "239901002" and ex05.grid_code == "239901002001002"
    ex12 = session.scalar(select(Case).where(Case.code == "EX-12"))
    assert (ex12.state, ex12.state_before_suspend) == ("suspended", "in_progress")
    assert list(history.verify(session)) == []


def test_verify_finds_a_drifted_row(session):
    small_geography(session)
    history.import_lines(example_lines())
    session.execute(
        update(Case).where(Case.code == "EX-03").values(state="closed", version=Case.version)
    )
    session.execute(update(Case).where(Case.code == "EX-13").values(unit_code="239901002"))
    drifted = dict(history.verify(session))
    assert set(drifted) == {"EX-13"}  # EX-03 is closed indeed
    assert drifted["EX-13"]["unit_code"] == ("239901002", "239901001")


def bad_file():
    lines = example_lines()
    objs = [json.loads(x) for x in lines]
    broken = copy.deepcopy(objs)
    broken[1]["events"][3]["action"] = "teleport"  # line 2
    broken[2]["events"][3]["action"] = "report_done"  # line 3: not yet taken
    broken[3]["events"][2]["at"] = "2026-03-01T00:00:00+08:00"  # line 4: out of order
    broken[4]["category"] = "99999"  # line 5
    broken[5]["events"][2]["unit"] = "nowhere"  # line 6
    broken[6]["lon"] = 500  # line 7
    broken[7]["events"][0]["at"] = "2026-03-31T23:00:00"  # line 8: no offset
    return [json.dumps(o, ensure_ascii=False) for o in broken]


def test_every_bad_line_is_reported_and_nothing_is_imported(session):
    small_geography(session)
    with pytest.raises(history.HistoryInvalid) as info:
        history.import_lines(bad_file())
    problems = info.value.problems
    assert [p.split(":")[0] for p in problems] == [f"line {n}" for n in range(2, 9)]
    assert "unknown action 'teleport'" in problems[0]
    assert "event 4: report_done is not allowed when the case is dispatched" in problems[1]
    assert "before the event before it" in problems[2]
    assert "unknown category" in problems[3]
    assert "unknown unit 'nowhere'" in problems[4]
    assert "bad coordinate" in problems[5]
    assert "no UTC offset" in problems[6]
    assert session.scalar(select(func.count(Case.id))) == 0


def test_skip_invalid_imports_the_rest_and_existing_codes_need_replace(session):
    small_geography(session)
    report = history.import_lines(bad_file(), skip_invalid=True)
    assert report.imported == 8 and len(report.skipped) == 7
    with pytest.raises(history.HistoryInvalid) as info:
        history.import_lines(example_lines()[:1])
    assert "exists already" in info.value.problems[0]
    report = history.import_lines(example_lines(), replace=True)
    assert (report.imported, report.replaced) == (15, 8)
    assert session.scalar(select(func.count(Case.id))) == 15
    assert session.scalar(select(func.count(CaseEvent.id))) == sum(
        len(json.loads(x)["events"]) for x in example_lines()
    )


def test_the_cli_imports_exports_and_verifies(session, tmp_path):
    small_geography(session)
    result = runner.invoke(app, ["import-cases", str(DATA / "cases-small.jsonl")])
    assert result.exit_code == 0, result.output
    assert "imported 15 cases" in result.output
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["export-cases", "-o", str(out)])
    assert result.exit_code == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 15
    result = runner.invoke(app, ["verify-cases"])
    assert result.exit_code == 0 and "every case matches" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(bad_file()), encoding="utf-8")
    result = runner.invoke(app, ["import-cases", str(bad), "--replace"])
    assert result.exit_code == 1 and "line 2: " in result.output


HOSTILE_CODES = [
    "<img src=x onerror=alert(1)>",
    "",
    "A" * 41,
    "EX 16",
    "EX-16\n",  # a regex's `$` would let the newline through
    "案件-16",
    "EX/16",
    "EX_16",
    "\u0000",
    16,
    None,
]


def test_a_code_outside_the_format_is_refused_with_its_line(session):
    # Given the example file with a hostile code on each of the first lines
    small_geography(session)
    objs = [json.loads(x) for x in example_lines()]
    for obj, code in zip(objs, HOSTILE_CODES, strict=False):
        obj["code"] = code
    lines = [json.dumps(o, ensure_ascii=False) for o in objs]
    # When it is imported, Then every such line is refused by number and nothing is imported
    with pytest.raises(history.HistoryInvalid) as info:
        history.import_lines(lines)
    problems = info.value.problems
    assert [p.split(":")[0] for p in problems] == [
        f"line {n}" for n in range(1, len(HOSTILE_CODES) + 1)
    ]
    assert all("is not 1 to 40 letters, digits or hyphens" in p for p in problems)
    assert session.scalar(select(func.count(Case.id))) == 0


def test_a_code_of_40_letters_digits_and_hyphens_is_accepted(session):
    small_geography(session)
    obj = json.loads(example_lines()[0])
    obj["code"] = "Ab-9" * 10
    report = history.import_lines([json.dumps(obj, ensure_ascii=False)])
    assert report.imported == 1
    assert session.scalar(select(Case.code)) == "Ab-9" * 10


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("address", "香坊\x0b大街", "address contains a character that is not allowed (U+000B"),
        ("address", "香坊大街\n12号", "address contains a character that is not allowed (U+000A"),
        ("description", "垃圾\x00", "description contains a character that is not allowed (U+0000"),
        ("description", "坏字节\ufffd", "contains a character that is not allowed (U+FFFD"),
        ("description", "x" * 4001, "description is longer than 4000 characters"),
        ("note", "仍有\x1b垃圾", "event 6 note contains a character that is not allowed (U+001B"),
        ("note", "\ud800", "not valid JSON"),  # a lone surrogate: the parser refuses it
        ("note", ["not text"], "event 6 note must be text"),
    ],
)
def test_control_characters_in_the_text_of_a_line_are_refused_with_its_line(
    session, field, value, reason
):
    # Given line 2 of the example file with a bad character in one of its texts
    small_geography(session)
    objs = [json.loads(x) for x in example_lines()]
    if field == "note":
        objs[1]["events"][5]["note"] = value  # EX-02's verify_fail
    else:
        objs[1][field] = value
    lines = [json.dumps(o, ensure_ascii=False) for o in objs]
    # When it is imported, Then line 2 is refused with the reason and nothing is imported
    with pytest.raises(history.HistoryInvalid) as info:
        history.import_lines(lines)
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith("line 2: ") and reason in info.value.problems[0]
    assert session.scalar(select(func.count(Case.id))) == 0


def test_multi_line_text_keeps_its_line_breaks_and_tabs(session):
    small_geography(session)
    obj = json.loads(example_lines()[1])
    obj["description"] = "第一行\n第二行\t完"
    obj["events"][5]["note"] = "仍有垃圾\r\n请返工"
    history.import_lines([json.dumps(obj, ensure_ascii=False)])
    exported = json.loads(next(history.export_lines(session)))
    assert exported["description"] == "第一行\n第二行\t完"
    assert exported["events"][5]["note"] == "仍有垃圾\r\n请返工"


def test_the_cli_refuses_a_hostile_code_with_its_line(session, tmp_path):
    small_geography(session)
    obj = json.loads(example_lines()[0])
    obj["code"] = "<img src=x onerror=alert(1)>"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(obj, ensure_ascii=False) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["import-cases", str(bad)])
    assert result.exit_code == 1
    assert "line 1: code '<img src=x onerror=alert(1)>' is not 1 to 40" in result.output
    assert session.scalar(select(func.count(Case.id))) == 0


def test_the_deadline_command(session):
    result = runner.invoke(
        app,
        [
            "deadline",
            "--start",
            "2026-09-30T16:00:00+08:00",
            "--limit",
            "4",
            "--unit",
            "working_hours",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2026-10-08T11:00:00+08:00"  # 1.5 h + 2.5 h
    result = runner.invoke(
        app, ["deadline", "--start", "2026-12-31T16:00:00+08:00", "--limit", "8"]
    )
    assert "2027-01-01T16:00:00+08:00" in result.output and "calendar_missing" in result.output
    result = runner.invoke(app, ["deadline", "--start", "yesterday", "--limit", "8"])
    assert result.exit_code == 2
