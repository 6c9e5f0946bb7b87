"""import-cases in committed steps: the file read without the write lock, staged in short
transactions, swapped in one; all or nothing for the file, no staging table left behind."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, insert, inspect, select, text

from civicgrid.cases import history
from civicgrid.cases import intake as case_intake
from civicgrid.cases import policy as case_policy
from civicgrid.cases.models import Case, CaseCounter, CaseEvent
from civicgrid.config import Settings
from civicgrid.kit import db
from tests.conftest import DATA
from tests.factories import POINT_A, small_geography

LINES = (DATA / "cases-small.jsonl").read_text(encoding="utf-8").splitlines()
_days = itertools.count(1)


@pytest.fixture()
def geography(committed):
    with committed() as s:
        small_geography(s)
        s.commit()
    return committed


@pytest.fixture()
def small_chunks(monkeypatch):
    """Four cases a chunk: the example file is staged in four transactions."""
    monkeypatch.setattr(history, "BATCH", 4)


def another_writer_gets_through() -> bool:
    """Whether a writer on another connection can commit within a second (on SQLite: whether
    the write lock is free)."""
    done: list[bool] = []

    def write():
        try:
            with db.write_wait(1.0), db.session_scope() as s:
                s.execute(insert(CaseCounter).values(day=f"2099{next(_days):04d}", last=0))
            done.append(True)
        except db.WriterBusy:
            done.append(False)

    t = threading.Thread(target=write)
    t.start()
    t.join(30)
    return done == [True]


def count(model) -> int:
    with db.session_scope(read_only=True) as s:
        return s.scalar(select(func.count()).select_from(model))


def staging_tables() -> set[str]:
    with db.get_engine().connect() as conn:
        return {name for name in inspect(conn).get_table_names() if name.startswith("import_")}


def test_the_file_is_read_and_staged_without_holding_the_write_lock(geography, small_chunks):
    # Given a file read line by line, and a check of the lock at the first line and after
    # every staged chunk
    seen_while_reading: list[bool] = []
    seen_between_chunks: list[bool] = []

    def lines() -> Iterator[str]:
        for n, line in enumerate(LINES):
            if n == 1:
                seen_while_reading.append(another_writer_gets_through())
            yield line

    def progress(done: int, total: int) -> None:
        seen_between_chunks.append(another_writer_gets_through())
        # and nothing of the file is visible before the swap
        assert count(Case) == 0

    # When the file is imported
    report = history.import_lines(lines(), progress=progress)
    # Then another writer got through while it was read and between the chunks
    assert seen_while_reading == [True]
    assert seen_between_chunks == [True] * 4
    assert report.imported == 15 and count(Case) == 15
    assert count(CaseEvent) == sum(len(json.loads(x)["events"]) for x in LINES)
    assert staging_tables() == set()


def test_a_failing_swap_leaves_nothing_and_no_staging_table(geography, small_chunks, monkeypatch):
    # Given the example imported, and a swap that fails after it has written the new cases
    history.import_lines(LINES[:8])
    monkeypatch.setattr(
        history, "_SWAP_INSERT_EVENTS", text("INSERT INTO no_such_table VALUES (1)")
    )
    before = dump_cases()
    # When the whole file is imported with --replace
    with pytest.raises(Exception, match="no_such_table"):
        history.import_lines(LINES, replace=True)
    # Then nothing changed: no new case, the replaced ones as they were, no staging table
    assert dump_cases() == before and count(Case) == 8
    assert staging_tables() == set()


def dump_cases() -> list[tuple]:
    with db.session_scope(read_only=True) as s:
        return [
            (c.id, c.code, c.state, c.version, c.last_seq)
            for c in s.scalars(select(Case).order_by(Case.id))
        ]


def test_a_crashed_imports_staging_tables_are_dropped_by_the_next_import(geography):
    # Given the staging tables a killed import left, with rows in them
    history._create_stage()
    with db.session_scope() as s:
        s.execute(history.STAGE_CASES.insert().values(pos=0, line=1, code="GHOST-1"))
    assert staging_tables() == {"import_stage_cases", "import_stage_events"}
    # When the next import runs, Then it imports its own file only and leaves no staging table
    report = history.import_lines(LINES)
    assert report.imported == 15
    with db.session_scope(read_only=True) as s:
        assert s.scalar(select(Case.id).where(Case.code == "GHOST-1")) is None
    assert staging_tables() == set()


def test_a_second_import_while_one_runs_is_refused_and_touches_nothing(geography):
    # Given an import holding the database's import lock (with its staging tables)
    with history._one_import_at_a_time():
        history._create_stage()
        # When another import starts, Then it is refused at once
        with pytest.raises(history.ImportRunning) as info:
            history.import_lines(LINES)
        assert info.value.status_code == 409
        # and the running import's staging tables are still there
        assert staging_tables() == {"import_stage_cases", "import_stage_events"}
        history._drop_stage()
    assert history.import_lines(LINES).imported == 15


def make_case_with_code(code: str) -> None:
    """A live report, then given `code` (as if another import had made it)."""
    with db.session_scope() as s:
        case = case_intake.report(
            s,
            Settings(),
            source="supervisor",
            category="06010",
            actor=case_policy.Actor("sup", "supervisor"),
            lon=POINT_A[0],
            lat=POINT_A[1],
        )
        s.flush()
        s.execute(Case.__table__.update().where(Case.id == case.id).values(code=code, version=2))


@pytest.mark.parametrize("skip_invalid", [False, True])
def test_a_code_made_while_the_file_was_staged_is_found_at_the_swap(
    geography, small_chunks, skip_invalid
):
    # Given a case with the code of line 9 made after the file was read
    made: list[str] = []

    def progress(done: int, total: int) -> None:
        if not made:
            make_case_with_code("EX-09")
            made.append("EX-09")

    if not skip_invalid:
        # When the file is imported, Then the swap refuses it by line and nothing is imported
        with pytest.raises(history.HistoryInvalid) as info:
            history.import_lines(LINES, progress=progress)
        assert info.value.problems == ["line 9: code EX-09 exists already (use --replace)"]
        assert count(Case) == 1
    else:
        # When it is imported with --skip-invalid, Then every other line is imported
        report = history.import_lines(LINES, skip_invalid=True, progress=progress)
        assert report.imported == 14
        assert report.skipped == ["line 9: code EX-09 exists already (use --replace)"]
        assert count(Case) == 15
        with db.session_scope(read_only=True) as s:
            assert s.scalar(select(Case.source).where(Case.code == "EX-09")) == "supervisor"
            assert list(history.verify(s)) == []
    assert staging_tables() == set()
