"""an index on areas.updated_at: the grid index's freshness check reads max(updated_at) and
count(*) every few seconds in every server process; without it that was a scan of every
area's geometry (13 ms for the demo's 35,257 grids)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 09:00:00
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_areas_updated_at", "areas", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_areas_updated_at", table_name="areas")
