"""assessment acts: who acted last at each step on the case; each act's reference, its actor
and its working wait on the event; the events' (action, at) index

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 08:00:00

Existing events get their references here by the rules of cases.rows.act_reference, folded
from each case's history in order, with the working calendar as it stands (cases.calendar).
"""

import logging
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import civicgrid.kit.db

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

UTC = civicgrid.kit.db.UTCDateTime(timezone=True)
CASE_TIMES = ("last_accept_at", "last_intake_at", "last_dispatch_at", "last_done_at")
CASE_WHO = ("reported_by", "last_accept_by", "last_dispatch_by")
BATCH = 2000


def upgrade() -> None:
    # plain ALTER TABLE (see 0003: a batch copy on SQLite would cascade-delete the events)
    for name in CASE_TIMES:
        op.add_column("cases", sa.Column(name, UTC))
    for name in CASE_WHO:
        op.add_column("cases", sa.Column(name, sa.String(length=60)))
    op.add_column("case_events", sa.Column("ref_at", UTC))
    op.add_column("case_events", sa.Column("ref_by", sa.String(length=60)))
    op.add_column("case_events", sa.Column("wait_key", sa.BigInteger()))
    _backfill(op.get_bind())
    op.create_index("ix_case_events_action_at", "case_events", ["action", "at"])


def _calendar(bind):
    from civicgrid.cases.calendar import WorkCalendar, parse_periods
    from civicgrid.config import get_settings

    settings = get_settings()
    days = sa.table("calendar_days", sa.column("day", sa.Date), sa.column("is_workday", sa.Boolean))
    years = sa.table("calendar_years", sa.column("year", sa.Integer))
    overrides = dict(bind.execute(sa.select(days.c.day, days.c.is_workday)).all())
    entered = set(bind.execute(sa.select(years.c.year)).scalars())
    return WorkCalendar(
        parse_periods(settings.work_periods), ZoneInfo(settings.timezone), overrides, entered
    )


def _backfill(bind) -> None:
    from types import SimpleNamespace

    from civicgrid.cases.rows import act_reference

    calendar = _calendar(bind)
    cases = sa.table(
        "cases",
        sa.column("id", sa.Integer),
        sa.column("reported_at", UTC),
        *(sa.column(n, UTC) for n in CASE_TIMES),
        *(sa.column(n, sa.String) for n in CASE_WHO),
    )
    events = sa.table(
        "case_events",
        sa.column("id", sa.Integer),
        sa.column("case_id", sa.Integer),
        sa.column("seq", sa.Integer),
        sa.column("at", UTC),
        sa.column("action", sa.String),
        sa.column("actor", sa.String),
        sa.column("role", sa.String),
        sa.column("ref_at", UTC),
        sa.column("ref_by", sa.String),
        sa.column("wait_key", sa.BigInteger),
    )
    log = logging.getLogger("civicgrid.migrations")
    total = bind.execute(sa.select(sa.func.count()).select_from(cases)).scalar()
    done, last_id = 0, 0
    while True:
        ids = list(
            bind.execute(
                sa.select(cases.c.id).where(cases.c.id > last_id).order_by(cases.c.id).limit(BATCH)
            ).scalars()
        )
        if not ids:
            return
        state = {
            i: SimpleNamespace(reported_at=None, **dict.fromkeys((*CASE_TIMES, *CASE_WHO)))
            for i in ids
        }
        updates = []
        rows = bind.execute(
            sa.select(
                events.c.id,
                events.c.case_id,
                events.c.at,
                events.c.action,
                events.c.actor,
                events.c.role,
            )
            .where(events.c.case_id.in_(ids))
            .order_by(events.c.case_id, events.c.seq)
        )
        for event_id, case_id, at, action, actor, role in rows:
            case = state[case_id]
            if action == "report":
                case.reported_at = at
            ref_at, ref_by, key = act_reference(case, action, at, actor, role, calendar)
            if ref_at is not None:
                updates.append({"e_id": event_id, "r_at": ref_at, "r_by": ref_by, "w": key})
        if updates:
            bind.execute(
                events.update()
                .where(events.c.id == sa.bindparam("e_id"))
                .values(
                    ref_at=sa.bindparam("r_at"),
                    ref_by=sa.bindparam("r_by"),
                    wait_key=sa.bindparam("w"),
                ),
                updates,
            )
        bind.execute(
            cases.update()
            .where(cases.c.id == sa.bindparam("c_id"))
            .values({n: sa.bindparam(f"v_{n}") for n in (*CASE_TIMES, *CASE_WHO)}),
            [
                {"c_id": i, **{f"v_{n}": getattr(c, n) for n in (*CASE_TIMES, *CASE_WHO)}}
                for i, c in state.items()
            ],
        )
        last_id = ids[-1]
        done += len(ids)
        log.info("0016: assessment acts of %d of %d cases", done, total)


def downgrade() -> None:
    op.drop_index("ix_case_events_action_at", "case_events")
    for name in ("wait_key", "ref_by", "ref_at"):
        op.drop_column("case_events", name)
    for name in (*CASE_WHO, *CASE_TIMES):
        op.drop_column("cases", name)
