"""Dashboard: a case tally left with no cases is deleted at once. Each combination of state, office, deadline,
restriction, acknowledgement and referral once held a row for good, so the table grew with every deadline that
came and went (the dashboard summed the empty rows with the others); now it holds only the combinations some
case has. The triggers that take a case out of a tally (SQLite) and the function that moves it (PostgreSQL) end
by deleting the tally they emptied, found by a partial index of the empty tallies; the empty tallies of before
go now.

The statements below are a frozen copy of those in casework/reports/tallies.py at this revision;
tests/reports/test_tallies.py checks they still agree.

Revision ID: 0010
Revises: 0009
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = [
    (
        "CREATE TRIGGER case_tallies_cases_ins AFTER INSERT ON cases BEGIN INSERT INTO case_tallies (status, "
        "office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd, cases) SELECT "
        "NEW.status, NEW.office, coalesce(NEW.due_on, '9999-12-31'), NEW.restricted, NEW.acknowledged_at IS "
        "NULL, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = NEW.id AND r.office = 'conduct'), EXISTS "
        "(SELECT 1 FROM referrals r WHERE r.case_id = NEW.id AND r.office = 'umpd'), 1 WHERE true ON CONFLICT"
        " (status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET"
        " cases = case_tallies.cases + excluded.cases; END"
    ),
    (
        "CREATE TRIGGER case_tallies_cases_upd AFTER UPDATE OF status, office, due_on, restricted, "
        "acknowledged_at ON cases BEGIN INSERT INTO case_tallies (status, office, due_on, restricted, "
        "unacknowledged, referred_conduct, referred_umpd, cases) SELECT OLD.status, OLD.office, "
        "coalesce(OLD.due_on, '9999-12-31'), OLD.restricted, OLD.acknowledged_at IS NULL, EXISTS (SELECT 1 "
        "FROM referrals r WHERE r.case_id = OLD.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals"
        " r WHERE r.case_id = OLD.id AND r.office = 'umpd'), -1 WHERE true ON CONFLICT (status, office, "
        "due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET cases = "
        "case_tallies.cases + excluded.cases; DELETE FROM case_tallies WHERE cases = 0; INSERT INTO "
        "case_tallies (status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd, "
        "cases) SELECT NEW.status, NEW.office, coalesce(NEW.due_on, '9999-12-31'), NEW.restricted, "
        "NEW.acknowledged_at IS NULL, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = NEW.id AND r.office"
        " = 'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = NEW.id AND r.office = 'umpd'), 1 "
        "WHERE true ON CONFLICT (status, office, due_on, restricted, unacknowledged, referred_conduct, "
        "referred_umpd) DO UPDATE SET cases = case_tallies.cases + excluded.cases; END"
    ),
    (
        "CREATE TRIGGER case_tallies_cases_del BEFORE DELETE ON cases BEGIN INSERT INTO case_tallies (status,"
        " office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd, cases) SELECT "
        "OLD.status, OLD.office, coalesce(OLD.due_on, '9999-12-31'), OLD.restricted, OLD.acknowledged_at IS "
        "NULL, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = OLD.id AND r.office = 'conduct'), EXISTS "
        "(SELECT 1 FROM referrals r WHERE r.case_id = OLD.id AND r.office = 'umpd'), -1 WHERE true ON "
        "CONFLICT (status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO "
        "UPDATE SET cases = case_tallies.cases + excluded.cases; DELETE FROM case_tallies WHERE cases = 0; "
        "END"
    ),
    (
        "CREATE TRIGGER case_tallies_conduct_ins AFTER INSERT ON referrals WHEN NEW.office = 'conduct' AND "
        "NOT EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = NEW.case_id AND r.office = NEW.office AND "
        "r.id <> NEW.id) BEGIN INSERT INTO case_tallies (status, office, due_on, restricted, unacknowledged, "
        "referred_conduct, referred_umpd, cases) SELECT c.status, c.office, coalesce(c.due_on, '9999-12-31'),"
        " c.restricted, c.acknowledged_at IS NULL, 0, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = "
        "c.id AND r.office = 'umpd'), -1 FROM cases c WHERE c.id = NEW.case_id ON CONFLICT (status, office, "
        "due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET cases = "
        "case_tallies.cases + excluded.cases; DELETE FROM case_tallies WHERE cases = 0; INSERT INTO "
        "case_tallies (status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd, "
        "cases) SELECT c.status, c.office, coalesce(c.due_on, '9999-12-31'), c.restricted, c.acknowledged_at "
        "IS NULL, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'conduct'), EXISTS "
        "(SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'umpd'), 1 FROM cases c WHERE c.id "
        "= NEW.case_id ON CONFLICT (status, office, due_on, restricted, unacknowledged, referred_conduct, "
        "referred_umpd) DO UPDATE SET cases = case_tallies.cases + excluded.cases; END"
    ),
    (
        "CREATE TRIGGER case_tallies_conduct_del AFTER DELETE ON referrals WHEN OLD.office = 'conduct' AND "
        "NOT EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = OLD.case_id AND r.office = OLD.office) BEGIN"
        " INSERT INTO case_tallies (status, office, due_on, restricted, unacknowledged, referred_conduct, "
        "referred_umpd, cases) SELECT c.status, c.office, coalesce(c.due_on, '9999-12-31'), c.restricted, "
        "c.acknowledged_at IS NULL, 1, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office "
        "= 'umpd'), -1 FROM cases c WHERE c.id = OLD.case_id ON CONFLICT (status, office, due_on, restricted,"
        " unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET cases = case_tallies.cases + "
        "excluded.cases; DELETE FROM case_tallies WHERE cases = 0; INSERT INTO case_tallies (status, office, "
        "due_on, restricted, unacknowledged, referred_conduct, referred_umpd, cases) SELECT c.status, "
        "c.office, coalesce(c.due_on, '9999-12-31'), c.restricted, c.acknowledged_at IS NULL, EXISTS (SELECT "
        "1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals"
        " r WHERE r.case_id = c.id AND r.office = 'umpd'), 1 FROM cases c WHERE c.id = OLD.case_id ON "
        "CONFLICT (status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO "
        "UPDATE SET cases = case_tallies.cases + excluded.cases; END"
    ),
    (
        "CREATE TRIGGER case_tallies_umpd_ins AFTER INSERT ON referrals WHEN NEW.office = 'umpd' AND NOT "
        "EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = NEW.case_id AND r.office = NEW.office AND r.id "
        "<> NEW.id) BEGIN INSERT INTO case_tallies (status, office, due_on, restricted, unacknowledged, "
        "referred_conduct, referred_umpd, cases) SELECT c.status, c.office, coalesce(c.due_on, '9999-12-31'),"
        " c.restricted, c.acknowledged_at IS NULL, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id "
        "AND r.office = 'conduct'), 0, -1 FROM cases c WHERE c.id = NEW.case_id ON CONFLICT (status, office, "
        "due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET cases = "
        "case_tallies.cases + excluded.cases; DELETE FROM case_tallies WHERE cases = 0; INSERT INTO "
        "case_tallies (status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd, "
        "cases) SELECT c.status, c.office, coalesce(c.due_on, '9999-12-31'), c.restricted, c.acknowledged_at "
        "IS NULL, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'conduct'), EXISTS "
        "(SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'umpd'), 1 FROM cases c WHERE c.id "
        "= NEW.case_id ON CONFLICT (status, office, due_on, restricted, unacknowledged, referred_conduct, "
        "referred_umpd) DO UPDATE SET cases = case_tallies.cases + excluded.cases; END"
    ),
    (
        "CREATE TRIGGER case_tallies_umpd_del AFTER DELETE ON referrals WHEN OLD.office = 'umpd' AND NOT "
        "EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = OLD.case_id AND r.office = OLD.office) BEGIN "
        "INSERT INTO case_tallies (status, office, due_on, restricted, unacknowledged, referred_conduct, "
        "referred_umpd, cases) SELECT c.status, c.office, coalesce(c.due_on, '9999-12-31'), c.restricted, "
        "c.acknowledged_at IS NULL, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'conduct'), 1, -1 FROM cases c WHERE c.id = OLD.case_id ON CONFLICT (status, office, due_on, "
        "restricted, unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET cases = "
        "case_tallies.cases + excluded.cases; DELETE FROM case_tallies WHERE cases = 0; INSERT INTO "
        "case_tallies (status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd, "
        "cases) SELECT c.status, c.office, coalesce(c.due_on, '9999-12-31'), c.restricted, c.acknowledged_at "
        "IS NULL, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'conduct'), EXISTS "
        "(SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'umpd'), 1 FROM cases c WHERE c.id "
        "= OLD.case_id ON CONFLICT (status, office, due_on, restricted, unacknowledged, referred_conduct, "
        "referred_umpd) DO UPDATE SET cases = case_tallies.cases + excluded.cases; END"
    ),
]

PG_MOVE_FUNCTION = (
    "CREATE OR REPLACE FUNCTION case_tallies_move(leaving case_tally_key, joining case_tally_key) RETURNS "
    "void LANGUAGE plpgsql AS $$ BEGIN IF leaving IS NOT DISTINCT FROM joining THEN RETURN; END IF; PERFORM "
    "pg_advisory_xact_lock(1128354629); IF leaving IS NOT NULL THEN PERFORM case_tallies_add(leaving, -1); "
    "DELETE FROM case_tallies WHERE cases = 0; END IF; IF joining IS NOT NULL THEN PERFORM "
    "case_tallies_add(joining, 1); END IF; END $$"
)
EMPTY = "cases = 0"


def _before():
    """Revision 0009, whose frozen statements a downgrade puts back."""
    spec = importlib.util.spec_from_file_location("revision_0009", Path(__file__).with_name("0009_case_tallies.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _replace_sqlite_triggers(statements: list[str]) -> None:
    for statement in statements:
        op.execute("DROP TRIGGER IF EXISTS " + statement.split()[2])
        op.execute(statement)


def upgrade():
    op.create_index(
        "ix_case_tallies_empty",
        "case_tallies",
        ["status"],
        sqlite_where=sa.text(EMPTY),
        postgresql_where=sa.text(EMPTY),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_MOVE_FUNCTION)
    else:
        _replace_sqlite_triggers(SQLITE_TRIGGERS)
    op.execute(f"DELETE FROM case_tallies WHERE {EMPTY}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        (move,) = [f for f in _before().PG_FUNCTIONS if "FUNCTION case_tallies_move" in f]
        op.execute(move.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    else:
        _replace_sqlite_triggers(_before().SQLITE_TRIGGERS)
    op.drop_index("ix_case_tallies_empty", table_name="case_tallies")
