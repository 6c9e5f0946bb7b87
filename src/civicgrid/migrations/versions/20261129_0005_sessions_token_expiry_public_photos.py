"""server-side sessions, token expiry, photos marked public after review

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 14:00:00
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

import civicgrid.kit.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Tokens issued before expiry existed: they run for this long from now.
LEGACY_TOKEN_DAYS = 90


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_user_sessions_secret_hash")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"])

    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("expires_at", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=True)
        )
    tokens = sa.table("api_tokens", sa.column("expires_at", civicgrid.kit.db.UTCDateTime()))
    op.execute(
        tokens.update().values(
            expires_at=sa.bindparam(
                "until",
                civicgrid.kit.db.utcnow() + dt.timedelta(days=LEGACY_TOKEN_DAYS),
                type_=civicgrid.kit.db.UTCDateTime(),
            )
        )
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column(
            "expires_at", existing_type=civicgrid.kit.db.UTCDateTime(timezone=True), nullable=False
        )

    # plain ALTER TABLE: no copy of a large table (see 0006)
    op.add_column(
        "photos", sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "photos", sa.Column("public_at", civicgrid.kit.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column("photos", sa.Column("public_by", sa.String(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.drop_column("public_by")
        batch_op.drop_column("public_at")
        batch_op.drop_column("public")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_table("user_sessions")
