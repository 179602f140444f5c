"""Audit trail: the database refuses an entry that does not follow the head.

Behind the append lock, a trigger checks that a new entry's seq is the head's plus one and its
prev_hash is the head's hash, so a missed lock fails loudly instead of forking the chain, and
SQLite's INSERT OR REPLACE (which deletes without firing the DELETE trigger) cannot overwrite an entry.
On PostgreSQL the audit triggers fire ALWAYS, even under session_replication_role = replica.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

GENESIS = "0" * 64

UPGRADE = {
    "sqlite": [
        "CREATE TRIGGER audit_entries_append_at_head BEFORE INSERT ON audit_entries "
        "WHEN NEW.seq IS NOT COALESCE((SELECT max(seq) FROM audit_entries), 0) + 1 "
        f"OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM audit_entries ORDER BY seq DESC LIMIT 1), '{GENESIS}') "
        "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: a new entry must follow the head'); END",
    ],
    "postgresql": [
        "CREATE FUNCTION audit_entries_append_at_head() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "DECLARE head_seq bigint; head_hash varchar; "
        "BEGIN "
        "SELECT seq, hash INTO head_seq, head_hash FROM audit_entries ORDER BY seq DESC LIMIT 1; "
        "IF NEW.seq IS DISTINCT FROM COALESCE(head_seq, 0) + 1 "
        f"OR NEW.prev_hash IS DISTINCT FROM COALESCE(head_hash, '{GENESIS}') THEN "
        "RAISE EXCEPTION 'audit entries are append-only: a new entry must follow the head (#%)', "
        "COALESCE(head_seq, 0); "
        "END IF; "
        "RETURN NEW; "
        "END $$",
        "CREATE TRIGGER audit_entries_append_at_head BEFORE INSERT ON audit_entries "
        "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_at_head()",
        # Fire even for a session that sets session_replication_role = replica (which skips ordinary triggers).
        "ALTER TABLE audit_entries ENABLE ALWAYS TRIGGER audit_entries_no_change",
        "ALTER TABLE audit_entries ENABLE ALWAYS TRIGGER audit_entries_no_truncate",
        "ALTER TABLE audit_entries ENABLE ALWAYS TRIGGER audit_entries_append_at_head",
    ],
}
DOWNGRADE = {
    "sqlite": ["DROP TRIGGER audit_entries_append_at_head"],
    "postgresql": [
        "ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_no_change",
        "ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_no_truncate",
        "DROP TRIGGER audit_entries_append_at_head ON audit_entries",
        "DROP FUNCTION audit_entries_append_at_head()",
    ],
}


def upgrade():
    for statement in UPGRADE.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade():
    for statement in DOWNGRADE.get(op.get_bind().dialect.name, []):
        op.execute(statement)
