"""Queues at scale: the case list in due-date order, filtered by state, by state and office, or by assignee,
reads an index in that order. With only (due_on, id), a filter that matches few cases with a deadline (closed
cases, which have none; a disposition, which only closed cases have; someone assigned no open case) made the
database walk every dated case before the first row it could show: about half a second on a million cases, on
both databases. Within a state and office, ix_cases_status_office_due now holds the id right after the due
date, so that a state whose cases share one due date (closed: none) is read in (due_on, id) order, not sorted.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_cases_status_due", ["status", "due_on", "id"]),
    ("ix_cases_assignee_due", ["assignee_id", "due_on", "id"]),
]
STATUS_OFFICE_DUE = "ix_cases_status_office_due"
BEFORE = ["status", "office", "due_on", "restricted", "assignee_id", "id", "acknowledged_at"]
AFTER = ["status", "office", "due_on", "id", "restricted", "assignee_id", "acknowledged_at"]


def upgrade():
    for name, columns in INDEXES:
        op.create_index(name, "cases", columns, unique=False)
    op.drop_index(STATUS_OFFICE_DUE, table_name="cases")
    op.create_index(STATUS_OFFICE_DUE, "cases", AFTER)


def downgrade():
    op.drop_index(STATUS_OFFICE_DUE, table_name="cases")
    op.create_index(STATUS_OFFICE_DUE, "cases", BEFORE)
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name="cases")
