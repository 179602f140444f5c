"""Queues at scale: an EOA investigator's queue tabs are counted among the cases an investigator sees.

An investigator sees EOA's cases and every case in intake, a third of all; the tabs' counts walked the index of
every open case by state, the other offices' included (the "Awaiting acknowledgement" tab read the 100,000
cases referred to Conduct first): about 40 ms a queue page on a million cases on PostgreSQL, 15 ms on SQLite. A
partial index of the investigator's cases serves them (the counts are sent with their values written in, which
the index's condition is matched against).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

QUEUE_COLUMNS = ["status", "office", "due_on", "id", "restricted", "assignee_id", "acknowledged_at"]
INVESTIGATOR_SCOPE = "office = 'eoa' OR status IN ('received', 'triaged')"


def upgrade():
    op.create_index(
        "ix_cases_investigator_status_office_due",
        "cases",
        QUEUE_COLUMNS,
        sqlite_where=sa.text(INVESTIGATOR_SCOPE),
        postgresql_where=sa.text(INVESTIGATOR_SCOPE),
    )


def downgrade():
    op.drop_index("ix_cases_investigator_status_office_due", table_name="cases")
