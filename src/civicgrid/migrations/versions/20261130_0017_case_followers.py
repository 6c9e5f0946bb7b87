"""Citizens who follow a public case ("我也遇到这个问题") instead of reporting it again

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 07:00:00
"""

import sqlalchemy as sa
from alembic import op

import civicgrid.kit.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

UTC = civicgrid.kit.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_followers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_followers_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_followers")),
    )
    op.create_index(
        "uq_case_followers_case_id_phone", "case_followers", ["case_id", "phone"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_case_followers_case_id_phone", table_name="case_followers")
    op.drop_table("case_followers")
