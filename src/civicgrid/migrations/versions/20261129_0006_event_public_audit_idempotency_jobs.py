"""public notes on events, the audit log, idempotency keys, the scheduler's jobs, an index on
photos.event_id

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 17:00:00
"""

import sqlalchemy as sa
from alembic import op

import civicgrid.kit.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: a batch copy on SQLite drops the old table, and with
    # foreign keys on that deleted every photo row through photos.event_id's cascade
    # (tests/test_upgrades.py); ALTER TABLE keeps the table, and adding a column with a constant
    # default rewrites nothing on PostgreSQL either.
    op.add_column(
        "case_events",
        sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(op.f("ix_photos_event_id"), "photos", ["event_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("table_name", sa.String(length=60), nullable=False),
        sa.Column("row_key", sa.String(length=200), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index("ix_audit_log_table_at", "audit_log", ["table_name", "at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("created_at", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"])
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=60), nullable=False),
        sa.Column("last_started_at", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_ok", sa.Boolean(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_run_at", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("locked_by", sa.String(length=120), nullable=True),
        sa.Column("locked_until", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("job", name=op.f("pk_job_runs")),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    op.drop_index(op.f("ix_idempotency_keys_created_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_audit_log_table_at", table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_photos_event_id"), table_name="photos")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_column("public")
