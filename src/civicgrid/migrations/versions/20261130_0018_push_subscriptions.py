"""Web Push subscriptions of the handler app

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 07:15:00
"""

import sqlalchemy as sa
from alembic import op

import civicgrid.kit.db

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

UTC = civicgrid.kit.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("endpoint", sa.String(length=1000), nullable=False),
        sa.Column("p256dh", sa.String(length=120), nullable=False),
        sa.Column("auth", sa.String(length=60), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("last_sent_at", UTC, nullable=True),
        sa.Column("last_error", sa.String(length=400), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
    )
    op.create_index(
        op.f("ix_push_subscriptions_username"), "push_subscriptions", ["username"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_push_subscriptions_username"), table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
