"""Open311 photos by URL: the fetches of a partner's `media_url` into the photo store.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 21:00:00
"""

import sqlalchemy as sa
from alembic import op

from civicgrid.kit.db import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open311_media_fetches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("case_events.id", ondelete="CASCADE")),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(200), nullable=False),
        sa.Column("photo_id", sa.Integer(), sa.ForeignKey("photos.id", ondelete="SET NULL")),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", UTCDateTime(timezone=True)),
    )
    op.create_index("ix_open311_media_fetches_case_id", "open311_media_fetches", ["case_id"])
    op.create_index("ix_open311_media_fetches_event_id", "open311_media_fetches", ["event_id"])
    op.create_index("ix_open311_media_fetches_state", "open311_media_fetches", ["state"])


def downgrade() -> None:
    op.drop_table("open311_media_fetches")
