"""supervision: the escalation rules (seeded) and the escalations done (督办单)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 04:40:00
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

import civicgrid.kit.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UTC = civicgrid.kit.db.UTCDateTime(timezone=True)

# The three steps; the district's leaders after 8 working hours (one working day) of
# red. Administrators change them on the supervision page.
RULES = [
    ("remind", "yellow", 0.0),
    ("unit_leader", "red", 0.0),
    ("district_leader", "red", 8.0),
]


def upgrade() -> None:
    rules = op.create_table(
        "escalation_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("light", sa.String(length=8), nullable=False),
        sa.Column("after_hours", sa.Float(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("updated_by", sa.String(length=60), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_rules")),
        sa.UniqueConstraint("step", name=op.f("uq_escalation_rules_step")),
    )
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("case_code", sa.String(length=32), nullable=False),
        sa.Column("unit_code", sa.String(length=32), nullable=True),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("light", sa.String(length=8), nullable=False),
        sa.Column("deadline", UTC, nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=400), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("number", name=op.f("uq_escalations_number")),
        sa.UniqueConstraint(
            "case_id", "step", "deadline", name="uq_escalations_case_step_deadline"
        ),
    )
    op.create_index(op.f("ix_escalations_at"), "escalations", ["at"])
    op.create_index(op.f("ix_escalations_case_code"), "escalations", ["case_code"])
    op.create_index(op.f("ix_escalations_case_id"), "escalations", ["case_id"])
    op.create_index(op.f("ix_escalations_unit_code"), "escalations", ["unit_code"])
    # the release's rules, as of the release (the same rows in every database this makes)
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    op.bulk_insert(
        rules,
        [
            {"step": s, "light": li, "after_hours": h, "enabled": True, "updated_at": now}
            for s, li, h in RULES
        ],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_escalations_unit_code"), table_name="escalations")
    op.drop_index(op.f("ix_escalations_case_id"), table_name="escalations")
    op.drop_index(op.f("ix_escalations_case_code"), table_name="escalations")
    op.drop_index(op.f("ix_escalations_at"), table_name="escalations")
    op.drop_table("escalations")
    op.drop_table("escalation_rules")
