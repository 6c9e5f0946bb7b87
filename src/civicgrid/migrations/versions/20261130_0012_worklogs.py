"""work logs: a log per person per day, its entries, their photos and the log's history

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 04:00:00
"""

import sqlalchemy as sa
from alembic import op

import civicgrid.kit.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UTC = civicgrid.kit.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "worklogs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("submitted_at", UTC, nullable=True),
        sa.Column("reviewed_at", UTC, nullable=True),
        sa.Column("reviewed_by", sa.String(length=60), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_worklogs_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_units.id"], name=op.f("fk_worklogs_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worklogs")),
        sa.UniqueConstraint("person_id", "day", name="uq_worklogs_person_day"),
    )
    op.create_index(op.f("ix_worklogs_day"), "worklogs", ["day"])
    op.create_index(op.f("ix_worklogs_unit_id"), "worklogs", ["unit_id"])
    op.create_table(
        "worklog_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("log_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("case_code", sa.String(length=40), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=60), nullable=True),
        sa.Column("amendment", sa.Boolean(), nullable=False),
        sa.Column("corrects", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=True),
        sa.Column("edited_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["log_id"],
            ["worklogs.id"],
            name=op.f("fk_worklog_entries_log_id_worklogs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worklog_entries")),
        sa.UniqueConstraint("log_id", "seq", name="uq_worklog_entries_log_seq"),
    )
    op.create_table(
        "worklog_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("thumb_key", sa.String(length=200), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["worklog_entries.id"],
            name=op.f("fk_worklog_photos_entry_id_worklog_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worklog_photos")),
        sa.UniqueConstraint("key", name=op.f("uq_worklog_photos_key")),
    )
    op.create_index(op.f("ix_worklog_photos_entry_id"), "worklog_photos", ["entry_id"])
    op.create_table(
        "worklog_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("log_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("by", sa.String(length=60), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["log_id"],
            ["worklogs.id"],
            name=op.f("fk_worklog_events_log_id_worklogs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worklog_events")),
    )
    op.create_index(op.f("ix_worklog_events_log_id"), "worklog_events", ["log_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_worklog_events_log_id"), table_name="worklog_events")
    op.drop_table("worklog_events")
    op.drop_index(op.f("ix_worklog_photos_entry_id"), table_name="worklog_photos")
    op.drop_table("worklog_photos")
    op.drop_table("worklog_entries")
    op.drop_index(op.f("ix_worklogs_unit_id"), table_name="worklogs")
    op.drop_index(op.f("ix_worklogs_day"), table_name="worklogs")
    op.drop_table("worklogs")
