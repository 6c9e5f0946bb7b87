"""The gazetteer (地名地址库): addresses and landmarks an administrator imports for the place
search

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 07:00:00
"""

import sqlalchemy as sa
from alembic import op

import civicgrid.kit.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UTC = civicgrid.kit.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("imported_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_places")),
    )
    op.create_index(op.f("ix_places_name"), "places", ["name"], unique=False)
    op.create_index(op.f("ix_places_imported_at"), "places", ["imported_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_places_imported_at"), table_name="places")
    op.drop_index(op.f("ix_places_name"), table_name="places")
    op.drop_table("places")
