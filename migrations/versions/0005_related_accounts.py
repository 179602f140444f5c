"""Related cases: the account index also holds the party's kind and case, so the cases naming a
respondent's account are read from the index alone (no visit to each party row).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_parties_handle_match", table_name="parties")
    op.create_index("ix_parties_handle_match", "parties", ["handle_normalized", "platform", "kind", "case_id"])


def downgrade():
    op.drop_index("ix_parties_handle_match", table_name="parties")
    op.create_index("ix_parties_handle_match", "parties", ["handle_normalized", "platform"])
