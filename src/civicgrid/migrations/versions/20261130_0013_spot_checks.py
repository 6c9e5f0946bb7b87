"""spot checks: district score sheets, sites (roads, grids), sampling plans with their
committed seeds, the checks drawn, their photos and the failed items' cases

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 04:00:00
"""

import sqlalchemy as sa
from alembic import op

import civicgrid.kit.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spot_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("sheet", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("strata", sa.JSON(), nullable=False),
        sa.Column("slots", sa.JSON(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("period_end", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_plans")),
        sa.UniqueConstraint("code", name=op.f("uq_spot_plans_code")),
    )
    op.create_table(
        "spot_sheets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_sheets")),
        sa.UniqueConstraint("code", name=op.f("uq_spot_sheets_code")),
    )
    op.create_table(
        "spot_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("stratum", sa.String(length=60), nullable=False),
        sa.Column("site_code", sa.String(length=40), nullable=False),
        sa.Column("slot", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("draw_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("arrived_at", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("arrival_lon", sa.Float(), nullable=True),
        sa.Column("arrival_lat", sa.Float(), nullable=True),
        sa.Column("weather", sa.JSON(), nullable=True),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("g_m2", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("done_at", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=60), nullable=True),
        sa.Column("updated_at", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["spot_plans.id"],
            name=op.f("fk_spot_checks_plan_id_spot_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_checks")),
        sa.UniqueConstraint("plan_id", "stratum", "site_code", name=op.f("uq_spot_checks_plan_id")),
    )
    with op.batch_alter_table("spot_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spot_checks_day"), ["day"], unique=False)
        batch_op.create_index(batch_op.f("ix_spot_checks_site_code"), ["site_code"], unique=False)

    op.create_table(
        "spot_sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("contractor_id", sa.Integer(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contractor_id"], ["org_units.id"], name=op.f("fk_spot_sites_contractor_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["street_id"], ["org_units.id"], name=op.f("fk_spot_sites_street_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_units.id"], name=op.f("fk_spot_sites_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_sites")),
        sa.UniqueConstraint("code", name=op.f("uq_spot_sites_code")),
    )
    with op.batch_alter_table("spot_sites", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spot_sites_contractor_id"), ["contractor_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_spot_sites_street_id"), ["street_id"], unique=False)

    op.create_table(
        "spot_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("case_code", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["spot_checks.id"],
            name=op.f("fk_spot_failures_check_id_spot_checks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_failures")),
        sa.UniqueConstraint("check_id", "item", name=op.f("uq_spot_failures_check_id")),
    )
    op.create_table(
        "spot_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("thumb_key", sa.String(length=200), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["spot_checks.id"],
            name=op.f("fk_spot_photos_check_id_spot_checks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_photos")),
        sa.UniqueConstraint("key", name=op.f("uq_spot_photos_key")),
    )
    with op.batch_alter_table("spot_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spot_photos_check_id"), ["check_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("spot_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spot_photos_check_id"))

    op.drop_table("spot_photos")
    op.drop_table("spot_failures")
    with op.batch_alter_table("spot_sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spot_sites_street_id"))
        batch_op.drop_index(batch_op.f("ix_spot_sites_contractor_id"))

    op.drop_table("spot_sites")
    with op.batch_alter_table("spot_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spot_checks_site_code"))
        batch_op.drop_index(batch_op.f("ix_spot_checks_day"))

    op.drop_table("spot_checks")
    op.drop_table("spot_sheets")
    op.drop_table("spot_plans")
