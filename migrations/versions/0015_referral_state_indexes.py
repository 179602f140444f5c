"""Queues at scale: one state's newest cases among those referred to an office.

A conduct officer's or police liaison's New tab lists the received cases referred to their office, newest
first. SQLite read it from the index of each state's newest cases and looked among all 80,000 received cases
for those referred to the office, nearly always none (10 ms on a million cases); from a partial index of each
office's cases by state, newest first within a state, it finds them at once (its roles' slowest page 13 -> 6 ms).
PostgreSQL, which takes the state and the referral for independent, estimates thousands of such cases and keeps
walking the office's index newest first (6.5 ms); the index is made there too, so both databases have one schema.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

REFERRAL_STATE_CREATED_COLUMNS = ["status", "created_at", "id"]
OFFICES = ("conduct", "umpd")


def upgrade():
    for office in OFFICES:
        op.create_index(
            f"ix_cases_{office}_status_created",
            "cases",
            REFERRAL_STATE_CREATED_COLUMNS,
            sqlite_where=sa.text(f"referred_{office} = 1"),
            postgresql_where=sa.text(f"referred_{office}"),
        )


def downgrade():
    for office in reversed(OFFICES):
        op.drop_index(f"ix_cases_{office}_status_created", table_name="cases")
