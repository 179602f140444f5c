"""Queues at scale: each role's tabs and lists read the cases the role sees.

An investigator sees EOA's cases and every case in intake, a third of all; the tabs' counts walked the index of
every open case by state, the other offices' included (the "Awaiting acknowledgement" tab read the 100,000
cases referred to Conduct first): about 40 ms a queue page on a million cases on PostgreSQL, 15 ms on SQLite. A
partial index of the investigator's cases serves them (the counts are sent with their values written in, which
the index's condition is matched against).

A conduct officer's or police liaison's "My office's cases" sorted the office's 50,000 open cases from their
partial index by state, when SQLite chose it (140 ms on a million cases): a partial index of each of those
offices' cases, newest first, gives them in order.

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
REFERRAL_CREATED_COLUMNS = ["created_at", "id", "status", "office", "restricted", "assignee_id"]
INVESTIGATOR_SCOPE = "office = 'eoa' OR status IN ('received', 'triaged')"
OFFICES = ("conduct", "umpd")


def upgrade():
    op.create_index(
        "ix_cases_investigator_status_office_due",
        "cases",
        QUEUE_COLUMNS,
        sqlite_where=sa.text(INVESTIGATOR_SCOPE),
        postgresql_where=sa.text(INVESTIGATOR_SCOPE),
    )
    for office in OFFICES:
        op.create_index(
            f"ix_cases_{office}_created",
            "cases",
            REFERRAL_CREATED_COLUMNS,
            sqlite_where=sa.text(f"referred_{office} = 1"),
            postgresql_where=sa.text(f"referred_{office}"),
        )


def downgrade():
    for office in reversed(OFFICES):
        op.drop_index(f"ix_cases_{office}_created", table_name="cases")
    op.drop_index("ix_cases_investigator_status_office_due", table_name="cases")
