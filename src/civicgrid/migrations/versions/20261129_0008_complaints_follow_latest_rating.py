"""回访不满意 follows the latest rating: a case rated poorly (score ≤ 2) and later well kept its
queue reason `complaint` before rows.apply cleared it; clear it on the cases already written.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 19:00:00
"""

import json
import logging

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

POOR = 2  # rows.apply: a rating of 2 or less is a complaint


def upgrade() -> None:
    conn = op.get_bind()
    # the last rating of each case still waiting as a complaint
    rows = conn.execute(
        sa.text(
            "SELECT e.case_id, e.payload FROM case_events e "
            "JOIN cases c ON c.id = e.case_id "
            "WHERE c.queue_reason = 'complaint' AND e.action = 'rate' "
            "AND e.seq = (SELECT MAX(r.seq) FROM case_events r "
            "WHERE r.case_id = e.case_id AND r.action = 'rate')"
        )
    )
    cleared = []
    for case_id, payload in rows:
        data = json.loads(payload) if isinstance(payload, str) else (payload or {})
        score = data.get("score")
        if isinstance(score, int) and score > POOR:
            cleared.append(case_id)
    for start in range(0, len(cleared), 500):
        conn.execute(
            sa.text("UPDATE cases SET queue_reason = NULL WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": cleared[start : start + 500]},
        )
        logging.getLogger("civicgrid.migrations").info(
            "0008: %d of %d complaints cleared", min(start + 500, len(cleared)), len(cleared)
        )


def downgrade() -> None:
    # the old rule kept the reason of any earlier poor rating: nothing to restore that matters
    pass
