"""Migrations on a database that already holds cases: nothing lost, the new facts filled in."""

import json

from alembic import command
from sqlalchemy import func, select, update

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

    from civicgrid import migrate
    from civicgrid.kit import db

    context = MigrationContext.configure(
        session.connection(), opts={"include_name": migrate.include_name}
    )
    assert compare_metadata(context, db.Base.metadata) == []


def test_complaints_written_before_0008_follow_the_latest_rating(session):
    # Given the small histories, one more rated well then poorly, and every rated case left
    # waiting as a complaint, as the rule before 0008 could leave them
    small_geography(session)
    lines = (DATA / "cases-small.jsonl").read_text(encoding="utf-8").splitlines()
    poor = json.loads(lines[0])
    poor["code"] = "EX-POOR"
    poor["events"] += [
        {"at": "2026-03-04T10:00:00+08:00", "action": "rate", "score": 5},
        {"at": "2026-03-05T10:00:00+08:00", "action": "rate", "score": 1},
    ]
    history.import_lines([*lines, json.dumps(poor, ensure_ascii=False)])
    session.flush()
    last: dict[str, int] = {}
    for code, payload in session.execute(
        select(Case.code, CaseEvent.payload)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.action == "rate")
        .order_by(CaseEvent.case_id, CaseEvent.seq)
    ):
        last[code] = payload["score"]
    assert any(s <= 2 for s in last.values()) and any(s > 2 for s in last.values())
    session.execute(update(Case).where(Case.code.in_(list(last))).values(queue_reason="complaint"))
    # When 0008 runs
    connection = session.connection()
    command.downgrade(migrate.alembic_config(connection), "0007")
    command.upgrade(migrate.alembic_config(connection), "head")
    session.expire_all()
    # Then only the cases whose latest rating is poor wait as complaints
    waiting = set(session.scalars(select(Case.code).where(Case.queue_reason == "complaint")))
    assert waiting == {code for code, score in last.items() if score <= 2}
