"""Migrations on a database that already holds cases: nothing lost, the new facts filled in."""

from alembic import command
from sqlalchemy import func, select

from civicgrid import migrate
from civicgrid.cases import history
from civicgrid.cases.models import Case, CaseEvent
from tests.conftest import DATA
from tests.factories import small_geography


def test_statistics_facts_are_filled_in_from_the_events(session):
    small_geography(session)
    history.import_lines((DATA / "cases-small.jsonl").read_text(encoding="utf-8").splitlines())
    session.flush()
    events = session.scalar(select(func.count()).select_from(CaseEvent))
    want = {
        c.code: (c.done_at, c.first_rate_at, c.revised_at, c.dispatch_wait_us)
        for c in session.scalars(select(Case))
    }
    assert any(w[2] for w in want.values()) and any(w[3] for w in want.values())
    connection = session.connection()
    command.downgrade(migrate.alembic_config(connection), "0002")
    command.upgrade(migrate.alembic_config(connection), "head")
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(CaseEvent)) == events
    got = {
        c.code: (c.done_at, c.first_rate_at, c.revised_at, c.dispatch_wait_us)
        for c in session.scalars(select(Case))
    }
    assert got == want
    assert list(history.verify(session)) == []


def test_the_migrations_make_the_schema_the_models_declare(session):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from civicgrid.kit import db

    context = MigrationContext.configure(session.connection())
    assert compare_metadata(context, db.Base.metadata) == []
