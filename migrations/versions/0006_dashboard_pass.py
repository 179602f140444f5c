"""Dashboard: the covering index of open cases also holds the acknowledgement time, so the dashboard's
one pass over the open cases counts those awaiting acknowledgement without reading the table.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BEFORE = ["status", "office", "due_on", "restricted", "assignee_id", "id"]


def upgrade():
    op.drop_index("ix_cases_status_office_due", table_name="cases")
    op.create_index("ix_cases_status_office_due", "cases", [*BEFORE, "acknowledged_at"])


def downgrade():
    op.drop_index("ix_cases_status_office_due", table_name="cases")
    op.create_index("ix_cases_status_office_due", "cases", BEFORE)
