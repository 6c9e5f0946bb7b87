"""case statistics facts: first times of counted events, last report_done, dispatch wait;
indexes for the statistics and for finding possible duplicates

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 16:00:00

The new columns are part of the case's projection (cases.workflow.Projection); existing cases
get them from their events here, by the same rules, so `civicgrid verify-cases` stays clean.
"""

import datetime as dt
import logging

import sqlalchemy as sa
from alembic import op

import civicgrid.kit.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIMES = (
    "done_at",
    "first_done_at",
    "first_return_at",
    "first_fail_at",
    "first_extension_at",
    "first_rate_at",
    "revised_at",
)
FIRST = {
    "report_done": "first_done_at",
    "return": "first_return_at",
    "verify_fail": "first_fail_at",
    "extend_approve": "first_extension_at",
    "rate": "first_rate_at",
}
# the columns of the covering index for the statistics (as cases.models has them today)
KPI_INDEX_COLUMNS = (
    "registered_at",
    "last_event_at",
    "suspended_at",
    "revised_at",
    "reported_at",
    "dispatched_at",
    "closed_at",
    "deadline",
    "done_at",
    "first_done_at",
    "first_return_at",
    "first_fail_at",
    "first_extension_at",
    "first_rate_at",
    "score",
    "dispatch_wait_us",
    "street_code",
    "community_code",
    "grid_code",
    "unit_code",
    "category_code",
    "source",
)
BATCH = 2000
MICROSECOND = dt.timedelta(microseconds=1)


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: a batch copy on SQLite would drop the old table,
    # and with foreign keys on, that deletes every event through the cascade.
    for name in TIMES:
        op.add_column("cases", sa.Column(name, civicgrid.kit.db.UTCDateTime(timezone=True)))
    op.add_column("cases", sa.Column("dispatch_wait_us", sa.BigInteger()))
    _backfill(op.get_bind())
    op.create_index("ix_cases_kpi", "cases", list(KPI_INDEX_COLUMNS))
    op.create_index("ix_cases_reported_registered", "cases", ["reported_at", "registered_at"])
    op.create_index("ix_cases_category_lat", "cases", ["category_code", "lat"])


def _backfill(bind) -> None:
    when = civicgrid.kit.db.UTCDateTime(timezone=True)
    cases = sa.table("cases", sa.column("id", sa.Integer), *(sa.column(n, when) for n in TIMES))
    cases.append_column(sa.column("dispatch_wait_us", sa.BigInteger))
    events = sa.table(
        "case_events",
        sa.column("case_id", sa.Integer),
        sa.column("seq", sa.Integer),
        sa.column("at", when),
        sa.column("action", sa.String),
    )
    # progress for the operator (civicgrid init shows the civicgrid.migrations log)
    log = logging.getLogger("civicgrid.migrations")
    total = bind.execute(sa.select(sa.func.count()).select_from(cases)).scalar()
    done_count = 0
    last_id = 0
    while True:
        ids = list(
            bind.execute(
                sa.select(cases.c.id).where(cases.c.id > last_id).order_by(cases.c.id).limit(BATCH)
            ).scalars()
        )
        if not ids:
            return
        facts: dict[int, dict] = {i: dict.fromkeys((*TIMES, "dispatch_wait_us")) for i in ids}
        reported: dict[int, object] = {}
        seen: dict[int, set] = {i: set() for i in ids}
        rows = bind.execute(
            sa.select(events.c.case_id, events.c.at, events.c.action)
            .where(events.c.case_id.in_(ids))
            .order_by(events.c.case_id, events.c.seq)
        )
        for case_id, at, action in rows:
            f, done = facts[case_id], seen[case_id]
            if action == "report":
                reported[case_id] = at
            elif action == "dispatch":
                if "dispatch" in done:
                    f["revised_at"] = at
                else:
                    f["dispatch_wait_us"] = (at - reported[case_id]) // MICROSECOND
            elif action in ("extend_approve", "suspend", "resume") or (
                action == "rate" and "rate" in done
            ):
                f["revised_at"] = at
            if action == "report_done":
                f["done_at"] = at
            if action in FIRST and action not in done:
                f[FIRST[action]] = at
            done.add(action)
        bind.execute(
            cases.update().where(cases.c.id == sa.bindparam("case_id")),
            [{"case_id": case_id, **values} for case_id, values in facts.items()],
        )
        last_id = ids[-1]
        done_count += len(ids)
        log.info("0003: statistics facts of %d of %d cases", done_count, total)


def downgrade() -> None:
    op.drop_index("ix_cases_category_lat", "cases")
    op.drop_index("ix_cases_reported_registered", "cases")
    op.drop_index("ix_cases_kpi", "cases")
    for name in (*TIMES, "dispatch_wait_us"):
        op.drop_column("cases", name)
