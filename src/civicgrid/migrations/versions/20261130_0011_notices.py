"""notices: kinds (seeded), notices, their steps, versions, attachments and readers; media's
documents (the attachments' files)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 04:00:00
"""

import sqlalchemy as sa
from alembic import op

import civicgrid.kit.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UTC = civicgrid.kit.db.UTCDateTime(timezone=True)

# The kinds: (code, name, English name, reviewer other than the author, warning).
KINDS = [
    ("notice", "通知公告", "Notice", True, False),
    ("news", "工作动态", "Work news", False, False),
    ("policy", "政策法规", "Policy and regulation", True, False),
    ("warning", "预警信息", "Warning", True, True),
]


def upgrade() -> None:
    op.create_table(
        "media_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_documents")),
        sa.UniqueConstraint("key", name=op.f("uq_media_documents_key")),
    )
    kinds = op.create_table(
        "notice_kinds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("name_en", sa.String(length=60), nullable=False),
        sa.Column("distinct_reviewer", sa.Boolean(), nullable=False),
        sa.Column("warning", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_kinds")),
        sa.UniqueConstraint("code", name=op.f("uq_notice_kinds_code")),
    )
    op.bulk_insert(
        kinds,
        [
            {
                "code": c,
                "name": n,
                "name_en": e,
                "distinct_reviewer": d,
                "warning": w,
                "position": i,
            }
            for i, (c, n, e, d, w) in enumerate(KINDS)
        ],
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("unit_codes", sa.JSON(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("publish_at", UTC, nullable=True),
        sa.Column("expires_at", UTC, nullable=True),
        sa.Column("published_at", UTC, nullable=True),
        sa.Column("author", sa.String(length=60), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("certainty", sa.String(length=16), nullable=True),
        sa.Column("area_codes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kind_id"], ["notice_kinds.id"], name=op.f("fk_notices_kind_id_notice_kinds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    for column in ("kind_id", "state", "expires_at", "published_at"):
        op.create_index(op.f(f"ix_notices_{column}"), "notices", [column])
    op.create_table(
        "notice_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=60), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_steps_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_steps")),
    )
    op.create_index(op.f("ix_notice_steps_notice_id"), "notice_steps", ["notice_id"])
    op.create_table(
        "notice_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=60), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_versions_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_versions")),
        sa.UniqueConstraint("notice_id", "number", name=op.f("uq_notice_versions_notice_id")),
    )
    op.create_index(op.f("ix_notice_versions_notice_id"), "notice_versions", ["notice_id"])
    op.create_table(
        "notice_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("by", sa.String(length=60), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_attachments_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_attachments")),
        sa.UniqueConstraint("key", name=op.f("uq_notice_attachments_key")),
    )
    op.create_index(op.f("ix_notice_attachments_notice_id"), "notice_attachments", ["notice_id"])
    op.create_table(
        "notice_recipients",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("read_at", UTC, nullable=True),
        sa.Column("reminded_at", UTC, nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_recipients_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notice_recipients_user_id_users")
        ),
        sa.PrimaryKeyConstraint("notice_id", "user_id", name=op.f("pk_notice_recipients")),
    )
    op.create_index(op.f("ix_notice_recipients_user_id"), "notice_recipients", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_notice_recipients_user_id"), table_name="notice_recipients")
    op.drop_table("notice_recipients")
    op.drop_index(op.f("ix_notice_attachments_notice_id"), table_name="notice_attachments")
    op.drop_table("notice_attachments")
    op.drop_index(op.f("ix_notice_versions_notice_id"), table_name="notice_versions")
    op.drop_table("notice_versions")
    op.drop_index(op.f("ix_notice_steps_notice_id"), table_name="notice_steps")
    op.drop_table("notice_steps")
    for column in ("published_at", "expires_at", "state", "kind_id"):
        op.drop_index(op.f(f"ix_notices_{column}"), table_name="notices")
    op.drop_table("notices")
    op.drop_table("notice_kinds")
    op.drop_table("media_documents")
