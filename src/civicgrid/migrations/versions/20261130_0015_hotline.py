"""12345 hotline bridge: work orders (the platform's number unique, its deadline beside ours),
signed requests' nonces, the status outbox, people's notification preferences

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 04:30:00
"""

import sqlalchemy as sa
from alembic import op

import civicgrid.kit.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

UTC = civicgrid.kit.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hotline_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_no", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("case_code", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("platform_category", sa.String(length=40), nullable=False),
        sa.Column("received_at", UTC, nullable=True),
        sa.Column("platform_deadline", UTC, nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("attachments_pending", sa.Boolean(), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_hotline_orders_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotline_orders")),
        sa.UniqueConstraint("case_id", name=op.f("uq_hotline_orders_case_id")),
        sa.UniqueConstraint("order_no", name=op.f("uq_hotline_orders_order_no")),
    )
    op.create_index(
        op.f("ix_hotline_orders_case_code"), "hotline_orders", ["case_code"], unique=False
    )
    op.create_index(
        op.f("ix_hotline_orders_attachments_pending"),
        "hotline_orders",
        ["attachments_pending"],
        unique=False,
    )
    op.create_table(
        "hotline_nonces",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("seen_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_hotline_nonces")),
    )
    op.create_index(op.f("ix_hotline_nonces_seen_at"), "hotline_nonces", ["seen_at"], unique=False)
    op.create_table(
        "hotline_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_no", sa.String(length=64), nullable=False),
        sa.Column("case_code", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("sent_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotline_outbox")),
    )
    op.create_index(
        op.f("ix_hotline_outbox_order_no"), "hotline_outbox", ["order_no"], unique=False
    )
    op.create_index(
        "ix_hotline_outbox_state_next",
        "hotline_outbox",
        ["state", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "notify_preferences",
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("sms", sa.String(length=40), nullable=False),
        sa.Column("wecom", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=120), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("quiet_start", sa.String(length=5), nullable=True),
        sa.Column("quiet_end", sa.String(length=5), nullable=True),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_notify_preferences")),
    )


def downgrade() -> None:
    op.drop_table("notify_preferences")
    op.drop_index("ix_hotline_outbox_state_next", table_name="hotline_outbox")
    op.drop_index(op.f("ix_hotline_outbox_order_no"), table_name="hotline_outbox")
    op.drop_table("hotline_outbox")
    op.drop_index(op.f("ix_hotline_nonces_seen_at"), table_name="hotline_nonces")
    op.drop_table("hotline_nonces")
    op.drop_index(op.f("ix_hotline_orders_attachments_pending"), table_name="hotline_orders")
    op.drop_index(op.f("ix_hotline_orders_case_code"), table_name="hotline_orders")
    op.drop_table("hotline_orders")
