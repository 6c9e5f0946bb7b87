"""the assessment tables' indexes: a month of acts read from one covering index
(ix_case_events_acts replaces ix_case_events_action_at, whose two columns it starts with), a
case's grid and source by its id (ix_cases_places), and ix_cases_kpi made again with the two
columns the department table reads (state, last_done_at)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 11:00:00

Over 67 million events and 10 million cases (bench/kpis_month.py's database) the indexes take
a few minutes to build; the supervisor's table of a month went from 1.8 s to 0.7 s. They are
built in the migration's transaction, so for those minutes `cases` and `case_events` take no
writes (and on PostgreSQL, from each DROP INDEX on, no reads either): upgrade in a quiet hour.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# as the models define them at this revision (cases.models)
ACTS = ["action", "at", "case_id", "actor", "role", "wait_key", "ref_at", "ref_by"]
PLACES = ["id", "grid_code", "source"]
DEPARTMENT = ["state", "last_done_at"]  # what ix_cases_kpi gains, at its end


def _kpi_columns() -> list[str]:
    """ix_cases_kpi's columns as the database has them (migration 0003's list)."""
    found = sa.inspect(op.get_bind()).get_indexes("cases")
    return next(i["column_names"] for i in found if i["name"] == "ix_cases_kpi")


def upgrade() -> None:
    op.create_index("ix_case_events_acts", "case_events", ACTS)
    op.drop_index("ix_case_events_action_at", "case_events")
    op.create_index("ix_cases_places", "cases", PLACES)
    columns = _kpi_columns()
    op.drop_index("ix_cases_kpi", "cases")
    op.create_index("ix_cases_kpi", "cases", [*columns, *DEPARTMENT])


def downgrade() -> None:
    columns = [c for c in _kpi_columns() if c not in DEPARTMENT]
    op.drop_index("ix_cases_kpi", "cases")
    op.create_index("ix_cases_kpi", "cases", columns)
    op.drop_index("ix_cases_places", "cases")
    op.create_index("ix_case_events_action_at", "case_events", ["action", "at"])
    op.drop_index("ix_case_events_acts", "case_events")
