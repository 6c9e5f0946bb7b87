"""drop the indexes on cases that others cover: reported_at (ix_cases_reported_registered
starts with it), registered_at (ix_cases_kpi starts with it), category_code
(ix_cases_category_lat starts with it). Measured with EXPLAIN in tests/test_indexes.py: every
query that used them uses the longer index, and each case write maintains three fewer.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 18:00:00
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

DROPPED = {
    "ix_cases_reported_at": ["reported_at"],
    "ix_cases_registered_at": ["registered_at"],
    "ix_cases_category_code": ["category_code"],
}


def upgrade() -> None:
    for name in DROPPED:
        op.drop_index(name, table_name="cases")


def downgrade() -> None:
    for name, columns in DROPPED.items():
        op.create_index(name, "cases", columns)
