"""Referral roles at scale: a case says itself whether it was ever referred to Conduct and to UMPD.

A conduct officer or police liaison sees the cases ever referred to their office. That was a lookup in the
referrals for every case a query walked, and a queue tab holding few of them walked a whole state of cases to
find it out: a police liaison's queue page took 1.5 to 2 seconds on a million cases, a conduct officer's about
0.5 s, on both databases. Now the flags `referred_conduct` and `referred_umpd` (set with each referral, never
cleared) are read from the case row; the index of each state's newest cases and those of the dashboard's times
to triage and to close hold them too, and each of those offices has a partial index of its cases for the
queues' counts.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OFFICES = ("conduct", "umpd")
FLAGS = [f"referred_{office}" for office in OFFICES]
STATUS_CREATED = ["status", "created_at", "id"]
VISIBILITY = ["restricted", "assignee_id", "office", "status"]
TIMINGS = {  # the dashboard's times to triage and to close, read from these indexes alone
    "ix_cases_triaged": ["triaged_at", "created_at", *VISIBILITY, "id"],
    "ix_cases_closed": ["closed_at", "created_at", *VISIBILITY, "id"],
}
QUEUE_COLUMNS = ["status", "office", "due_on", "id", "restricted", "assignee_id", "acknowledged_at"]


def upgrade():
    for flag in FLAGS:
        op.add_column("cases", sa.Column(flag, sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(
        "UPDATE cases SET "
        "referred_conduct = EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = cases.id AND r.office = 'conduct'), "
        "referred_umpd = EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = cases.id AND r.office = 'umpd') "
        "WHERE id IN (SELECT case_id FROM referrals WHERE office IN ('conduct', 'umpd'))"
    )
    op.drop_index("ix_cases_status_created", table_name="cases")
    op.create_index("ix_cases_status_created", "cases", [*STATUS_CREATED, *FLAGS])
    for name, columns in TIMINGS.items():
        op.drop_index(name, table_name="cases")
        op.create_index(name, "cases", [*columns, *FLAGS])
    for office in OFFICES:
        op.create_index(
            f"ix_cases_{office}_status_office_due",
            "cases",
            QUEUE_COLUMNS,
            sqlite_where=sa.text(f"referred_{office} = 1"),
            postgresql_where=sa.text(f"referred_{office}"),
        )


def downgrade():
    for office in OFFICES:
        op.drop_index(f"ix_cases_{office}_status_office_due", table_name="cases")
    for name, columns in TIMINGS.items():
        op.drop_index(name, table_name="cases")
        op.create_index(name, "cases", columns)
    op.drop_index("ix_cases_status_created", table_name="cases")
    op.create_index("ix_cases_status_created", "cases", STATUS_CREATED)
    for flag in reversed(FLAGS):
        # In place (SQLite 3.35+): a batch copy of the table would lose its triggers.
        op.drop_column("cases", flag)
