"""Upgrades on a populated database: a database at every earlier migration head (0001 on), holding
a year of cases with events, ratings, contacts, tracking secrets and photos, upgraded to the
newest schema loses nothing, every case still matches its events and the KPIs are unchanged.

The data is made once by today's code (the history importer: a year of realistic histories) and
then written into each older schema through the tables as they were at that revision (reflected
from the database migrated to it), column by column: what that release could hold. The columns
later migrations add are filled by those migrations (0003's statistics facts, 0008's complaints),
which the case check (`verify`) and the KPIs then judge.

CIVICGRID_UPGRADE_CASES sets the number of cases (default 2,000)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, Table, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench import cases_gen
from civicgrid import migrate
from civicgrid.cases import history
from civicgrid.categories import service as cat_service
from civicgrid.config import Settings
from civicgrid.geo.index import index as geo_index
from civicgrid.kit import db, refcache
from civicgrid.stats import service as stats_service
from tests.conftest import DB_URL, IS_PG, TEST_SECRET
from tests.factories import POINT_A, POINT_B, STREET_A, STREET_B, small_geography

SIZE = int(os.environ.get("CIVICGRID_UPGRADE_CASES", "2000"))
CST = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2025, 11, 1, tzinfo=CST)
NOW = dt.datetime(2026, 11, 20, tzinfo=CST)


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    ordered = [r.revision for r in script.walk_revisions("base", "heads")][::-1]
    return ordered[:-1]  # every earlier head, oldest first


EARLIER = _revisions()


@contextmanager
def fresh_database(tmp: Path) -> Iterator[Engine]:
    """An empty database of this test's own: a file on SQLite, a schema on PostgreSQL (the
    shared `test` database is left as it is; the schema is dropped after)."""
    if not IS_PG:
        engine = db.make_engine(
            Settings(
                database_url=f"sqlite:///{tmp}/{uuid.uuid4().hex[:8]}.db",
                mode="test",
                secret_key=TEST_SECRET,
            )
        )
        try:
            yield engine
        finally:
            engine.dispose()
        return
    schema = f"t_up_{uuid.uuid4().hex[:10]}"
    admin = db.make_engine(Settings(database_url=DB_URL, mode="test"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = db.make_engine(
        Settings(database_url=DB_URL, database_schema=schema, mode="test", secret_key=TEST_SECRET)
    )
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def as_process_engine(engine: Engine) -> Iterator[None]:
    """Point the process's sessions (the importer, the KPIs' name look-ups) at this engine."""
    db.set_engine(engine)
    geo_index.loaded = False
    refcache.clear()
    try:
        yield
    finally:
        db.set_engine(None)
        geo_index.loaded = False
        refcache.clear()


def _populate(engine: Engine) -> None:
    migrate.upgrade(engine)
    with as_process_engine(engine):
        with db.session_scope() as s:
            cat_service.import_categories(s, cat_service.packaged_csv("categories.csv"))
            cat_service.import_limits(s, cat_service.packaged_csv("time-limits.csv"))
            small_geography(s)
        box = (
            min(POINT_A[0], POINT_B[0]),
            min(POINT_A[1], POINT_B[1]) - 0.002,
            max(POINT_A[0], POINT_B[0]),
            max(POINT_A[1], POINT_B[1]) + 0.002,
        )
        lines = cases_gen.lines(SIZE, [STREET_A, STREET_B], box, seed=23, start=START)
        report = history.import_lines(lines)
        assert report.imported == SIZE, report
    # what intake adds beside the history: the reporter's contact, the tracking secret of a
    # citizen's case, the report's photos (rows; the files are not this test's subject)
    rng = random.Random(23)
    tables = db.Base.metadata.tables
    with engine.begin() as conn:
        cases = conn.execute(select(tables["cases"].c.id, tables["cases"].c.source)).all()
        reports = dict(
            conn.execute(
                select(tables["case_events"].c.case_id, tables["case_events"].c.id).where(
                    tables["case_events"].c.action == "report"
                )
            ).all()
        )
        contacts, secrets, photos = [], [], []
        for case_id, source in cases:
            if rng.random() < 0.6:
                contacts.append(
                    {
                        "case_id": case_id,
                        "name": f"市民{case_id}",
                        "phone": f"139{case_id:08d}",
                        "email": f"r{case_id}@example.org" if rng.random() < 0.2 else "",
                    }
                )
            if source == "citizen":
                secrets.append(
                    {"case_id": case_id, "secret_hash": hashlib.sha256(b"%d" % case_id).hexdigest()}
                )
            for n in range(rng.choice([0, 1, 1, 2])):
                key = f"{case_id % 97:02d}/{case_id}-{n}.jpg"
                photos.append(
                    {
                        "case_id": case_id,
                        "event_id": reports[case_id],
                        "stage": "report",
                        "key": key,
                        "thumb_key": key.replace(".jpg", "-t.jpg"),
                        "width": 1600,
                        "height": 1200,
                        "size": 200_000 + case_id,
                        "sha256": hashlib.sha256(key.encode()).hexdigest(),
                        "created_at": NOW.astimezone(dt.UTC),
                    }
                )
        conn.execute(tables["case_contacts"].insert(), contacts)
        conn.execute(tables["tracking_secrets"].insert(), secrets)
        conn.execute(tables["photos"].insert(), photos)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Iterator[tuple[Engine, dict]]:
    """The data at today's schema, and its KPIs."""
    tmp = tmp_path_factory.mktemp("upgrades")
    with fresh_database(tmp) as engine:
        _populate(engine)
        yield engine, _kpis(engine)


def _kpis(engine: Engine) -> dict:
    with as_process_engine(engine), Session(bind=engine) as session:
        return {
            group: stats_service.kpis(
                session,
                start=START,
                end=NOW,
                group_by=group,
                now=NOW,
            )
            for group in ("none", "street", "category")
        }


def _at(name: str, columns: list[str]) -> Table:
    """The table with only these columns, typed as today's models type them (UTC times), and no
    defaults: what a row of an older release holds."""
    today = db.Base.metadata.tables[name]
    return Table(name, MetaData(), *(Column(c, today.c[c].type) for c in columns))


def _rows(engine: Engine, table: Table) -> list[tuple]:
    key = [c.name for c in db.Base.metadata.tables[table.name].primary_key.columns]
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table).order_by(*(table.c[k] for k in key)))]


@pytest.mark.parametrize("revision", EARLIER)
def test_a_populated_database_of_an_earlier_release_upgrades_to_head(
    reference, revision, tmp_path, caplog
):
    source, want_kpis = reference
    caplog.set_level(logging.INFO, logger="civicgrid.migrations")
    with fresh_database(tmp_path) as engine:
        # Given a database at that release's schema, holding the year of cases
        with engine.begin() as conn:
            command.upgrade(migrate.alembic_config(conn), revision)
        with engine.connect() as conn:
            old = MetaData()
            old.reflect(bind=conn)
        then: dict[str, Table] = {}
        with engine.begin() as conn:
            for reflected in old.sorted_tables:
                if reflected.name == "alembic_version":
                    continue
                if reflected.name not in db.Base.metadata.tables:
                    continue  # a partition (vehicle_fixes_default): its parent's rows go there
                table = _at(reflected.name, [c.name for c in reflected.columns])
                then[table.name] = table
                rows = [dict(r._mapping) for r in _rows_of(source, table)]
                # rows a migration seeds (0010's vehicle types) are in the copy already
                conn.execute(table.delete())
                for start in range(0, len(rows), 5000):
                    conn.execute(table.insert(), rows[start : start + 5000])
        counts = {name: len(_rows(engine, t)) for name, t in then.items()}
        assert counts["cases"] == SIZE and counts["case_events"] > 5 * SIZE
        assert counts["photos"] > SIZE // 2
        # When it is upgraded
        migrate.upgrade(engine)
        if revision < "0003":  # the statistics facts are filled in batches, with progress
            assert f"0003: statistics facts of {SIZE} of {SIZE} cases" in caplog.messages
        # Then every row is there with what it held, every case matches its events, and the
        # KPIs are those of the same cases written by today's code
        with engine.connect() as conn:
            assert migrate.current_revision(conn) == migrate.head_revision()
            assert set(inspect(conn).get_table_names()) >= set(db.Base.metadata.tables)
        for name, table in then.items():
            assert _rows(engine, table) == _rows(source, table), name
        with Session(bind=engine) as session:
            assert list(history.verify(session)) == []
        assert _kpis(engine) == want_kpis


def _rows_of(engine: Engine, table: Table):
    with engine.connect() as conn:
        return conn.execute(select(table)).all()
