"""Dashboard: case tallies. `case_tallies` counts the cases of each combination of state, office, deadline,
restriction, acknowledgement and referral to Conduct or UMPD, kept by triggers on `cases` and `referrals`, so the
dashboard's open counts sum a few thousand tallies instead of reading every open case (see reports/tallies.py).
A partial index of the restricted cases by assignee answers whether a user has one (access.sees_as_role, asked on
every dashboard view) without reading all the cases assigned to them. The timeline's index by state, which the
dashboard read its times from before migration 0008, goes.

The statements below are a frozen copy of those in casework/reports/tallies.py at this revision;
tests/reports/test_tallies.py checks they still agree.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = [
    (
        'CREATE TRIGGER case_tallies_cases_ins AFTER INSERT ON cases BEGIN INSERT INTO case_tallies (status, '
        'office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd, cases) SELECT '
        "NEW.status, NEW.office, coalesce(NEW.due_on, '9999-12-31'), NEW.restricted, NEW.acknowledged_at IS "
        "NULL, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = NEW.id AND r.office = 'conduct'), EXISTS "
        "(SELECT 1 FROM referrals r WHERE r.case_id = NEW.id AND r.office = 'umpd'), 1 WHERE true ON "
        'CONFLICT (status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO '
        'UPDATE SET cases = case_tallies.cases + excluded.cases; END'
    ),
    (
        'CREATE TRIGGER case_tallies_cases_upd AFTER UPDATE OF status, office, due_on, restricted, '
        'acknowledged_at ON cases BEGIN INSERT INTO case_tallies (status, office, due_on, restricted, '
        'unacknowledged, referred_conduct, referred_umpd, cases) SELECT OLD.status, OLD.office, '
        "coalesce(OLD.due_on, '9999-12-31'), OLD.restricted, OLD.acknowledged_at IS NULL, EXISTS (SELECT 1 "
        "FROM referrals r WHERE r.case_id = OLD.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM "
        "referrals r WHERE r.case_id = OLD.id AND r.office = 'umpd'), -1 WHERE true ON CONFLICT (status, "
        'office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET cases = '
        'case_tallies.cases + excluded.cases; INSERT INTO case_tallies (status, office, due_on, restricted, '
        'unacknowledged, referred_conduct, referred_umpd, cases) SELECT NEW.status, NEW.office, '
        "coalesce(NEW.due_on, '9999-12-31'), NEW.restricted, NEW.acknowledged_at IS NULL, EXISTS (SELECT 1 "
        "FROM referrals r WHERE r.case_id = NEW.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM "
        "referrals r WHERE r.case_id = NEW.id AND r.office = 'umpd'), 1 WHERE true ON CONFLICT (status, "
        'office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET cases = '
        'case_tallies.cases + excluded.cases; END'
    ),
    (
        'CREATE TRIGGER case_tallies_cases_del BEFORE DELETE ON cases BEGIN INSERT INTO case_tallies '
        '(status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd, cases) SELECT '
        "OLD.status, OLD.office, coalesce(OLD.due_on, '9999-12-31'), OLD.restricted, OLD.acknowledged_at IS "
        "NULL, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = OLD.id AND r.office = 'conduct'), EXISTS "
        "(SELECT 1 FROM referrals r WHERE r.case_id = OLD.id AND r.office = 'umpd'), -1 WHERE true ON "
        'CONFLICT (status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO '
        'UPDATE SET cases = case_tallies.cases + excluded.cases; END'
    ),
    (
        "CREATE TRIGGER case_tallies_conduct_ins AFTER INSERT ON referrals WHEN NEW.office = 'conduct' AND "
        'NOT EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = NEW.case_id AND r.office = NEW.office AND '
        'r.id <> NEW.id) BEGIN INSERT INTO case_tallies (status, office, due_on, restricted, unacknowledged, '
        'referred_conduct, referred_umpd, cases) SELECT c.status, c.office, coalesce(c.due_on, '
        "'9999-12-31'), c.restricted, c.acknowledged_at IS NULL, 0, EXISTS (SELECT 1 FROM referrals r WHERE "
        "r.case_id = c.id AND r.office = 'umpd'), -1 FROM cases c WHERE c.id = NEW.case_id ON CONFLICT "
        '(status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET '
        'cases = case_tallies.cases + excluded.cases; INSERT INTO case_tallies (status, office, due_on, '
        'restricted, unacknowledged, referred_conduct, referred_umpd, cases) SELECT c.status, c.office, '
        "coalesce(c.due_on, '9999-12-31'), c.restricted, c.acknowledged_at IS NULL, EXISTS (SELECT 1 FROM "
        "referrals r WHERE r.case_id = c.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r "
        "WHERE r.case_id = c.id AND r.office = 'umpd'), 1 FROM cases c WHERE c.id = NEW.case_id ON CONFLICT "
        '(status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET '
        'cases = case_tallies.cases + excluded.cases; END'
    ),
    (
        "CREATE TRIGGER case_tallies_conduct_del AFTER DELETE ON referrals WHEN OLD.office = 'conduct' AND "
        'NOT EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = OLD.case_id AND r.office = OLD.office) '
        'BEGIN INSERT INTO case_tallies (status, office, due_on, restricted, unacknowledged, '
        'referred_conduct, referred_umpd, cases) SELECT c.status, c.office, coalesce(c.due_on, '
        "'9999-12-31'), c.restricted, c.acknowledged_at IS NULL, 1, EXISTS (SELECT 1 FROM referrals r WHERE "
        "r.case_id = c.id AND r.office = 'umpd'), -1 FROM cases c WHERE c.id = OLD.case_id ON CONFLICT "
        '(status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET '
        'cases = case_tallies.cases + excluded.cases; INSERT INTO case_tallies (status, office, due_on, '
        'restricted, unacknowledged, referred_conduct, referred_umpd, cases) SELECT c.status, c.office, '
        "coalesce(c.due_on, '9999-12-31'), c.restricted, c.acknowledged_at IS NULL, EXISTS (SELECT 1 FROM "
        "referrals r WHERE r.case_id = c.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r "
        "WHERE r.case_id = c.id AND r.office = 'umpd'), 1 FROM cases c WHERE c.id = OLD.case_id ON CONFLICT "
        '(status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET '
        'cases = case_tallies.cases + excluded.cases; END'
    ),
    (
        "CREATE TRIGGER case_tallies_umpd_ins AFTER INSERT ON referrals WHEN NEW.office = 'umpd' AND NOT "
        'EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = NEW.case_id AND r.office = NEW.office AND r.id '
        '<> NEW.id) BEGIN INSERT INTO case_tallies (status, office, due_on, restricted, unacknowledged, '
        'referred_conduct, referred_umpd, cases) SELECT c.status, c.office, coalesce(c.due_on, '
        "'9999-12-31'), c.restricted, c.acknowledged_at IS NULL, EXISTS (SELECT 1 FROM referrals r WHERE "
        "r.case_id = c.id AND r.office = 'conduct'), 0, -1 FROM cases c WHERE c.id = NEW.case_id ON CONFLICT "
        '(status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET '
        'cases = case_tallies.cases + excluded.cases; INSERT INTO case_tallies (status, office, due_on, '
        'restricted, unacknowledged, referred_conduct, referred_umpd, cases) SELECT c.status, c.office, '
        "coalesce(c.due_on, '9999-12-31'), c.restricted, c.acknowledged_at IS NULL, EXISTS (SELECT 1 FROM "
        "referrals r WHERE r.case_id = c.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r "
        "WHERE r.case_id = c.id AND r.office = 'umpd'), 1 FROM cases c WHERE c.id = NEW.case_id ON CONFLICT "
        '(status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET '
        'cases = case_tallies.cases + excluded.cases; END'
    ),
    (
        "CREATE TRIGGER case_tallies_umpd_del AFTER DELETE ON referrals WHEN OLD.office = 'umpd' AND NOT "
        'EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = OLD.case_id AND r.office = OLD.office) BEGIN '
        'INSERT INTO case_tallies (status, office, due_on, restricted, unacknowledged, referred_conduct, '
        "referred_umpd, cases) SELECT c.status, c.office, coalesce(c.due_on, '9999-12-31'), c.restricted, "
        'c.acknowledged_at IS NULL, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = '
        "'conduct'), 1, -1 FROM cases c WHERE c.id = OLD.case_id ON CONFLICT (status, office, due_on, "
        'restricted, unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET cases = '
        'case_tallies.cases + excluded.cases; INSERT INTO case_tallies (status, office, due_on, restricted, '
        'unacknowledged, referred_conduct, referred_umpd, cases) SELECT c.status, c.office, '
        "coalesce(c.due_on, '9999-12-31'), c.restricted, c.acknowledged_at IS NULL, EXISTS (SELECT 1 FROM "
        "referrals r WHERE r.case_id = c.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r "
        "WHERE r.case_id = c.id AND r.office = 'umpd'), 1 FROM cases c WHERE c.id = OLD.case_id ON CONFLICT "
        '(status, office, due_on, restricted, unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET '
        'cases = case_tallies.cases + excluded.cases; END'
    ),
]
SQLITE_RECOUNT = [
    (
        'DELETE FROM case_tallies'
    ),
    (
        'INSERT INTO case_tallies (status, office, due_on, restricted, unacknowledged, referred_conduct, '
        "referred_umpd, cases) SELECT c.status, c.office, coalesce(c.due_on, '9999-12-31'), c.restricted, "
        'c.acknowledged_at IS NULL, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = '
        "'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'umpd'), "
        'count(*) FROM cases c GROUP BY 1, 2, 3, 4, 5, 6, 7'
    ),
]
PG_FUNCTIONS = [
    (
        'CREATE TYPE case_tally_key AS (status varchar(32), office varchar(16), due_on date, restricted '
        'boolean, unacknowledged boolean, referred_conduct boolean, referred_umpd boolean)'
    ),
    (
        'CREATE FUNCTION case_tally_key(c cases) RETURNS case_tally_key LANGUAGE sql STABLE AS $$ SELECT '
        "ROW(c.status, c.office, coalesce(c.due_on, DATE '9999-12-31'), c.restricted, c.acknowledged_at IS "
        "NULL, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'conduct'), EXISTS "
        "(SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'umpd'))::case_tally_key $$"
    ),
    (
        'CREATE FUNCTION case_tallies_add(k case_tally_key, amount integer) RETURNS void LANGUAGE sql AS $$ '
        'INSERT INTO case_tallies (status, office, due_on, restricted, unacknowledged, referred_conduct, '
        'referred_umpd, cases) SELECT (k).*, amount ON CONFLICT (status, office, due_on, restricted, '
        'unacknowledged, referred_conduct, referred_umpd) DO UPDATE SET cases = case_tallies.cases + '
        'excluded.cases $$'
    ),
    (
        'CREATE FUNCTION case_tallies_move(leaving case_tally_key, joining case_tally_key) RETURNS void '
        'LANGUAGE plpgsql AS $$ BEGIN IF leaving IS NOT DISTINCT FROM joining THEN RETURN; END IF; PERFORM '
        'pg_advisory_xact_lock(1128354629); IF leaving IS NOT NULL THEN PERFORM case_tallies_add(leaving, '
        '-1); END IF; IF joining IS NOT NULL THEN PERFORM case_tallies_add(joining, 1); END IF; END $$'
    ),
    (
        'CREATE FUNCTION case_tallies_on_case() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = '
        "'INSERT' THEN PERFORM case_tallies_move(NULL, case_tally_key(NEW)); ELSIF TG_OP = 'UPDATE' THEN "
        'PERFORM case_tallies_move(case_tally_key(OLD), case_tally_key(NEW)); ELSE PERFORM '
        'case_tallies_move(case_tally_key(OLD), NULL); END IF; RETURN OLD; END $$'
    ),
    (
        'CREATE FUNCTION case_tallies_on_referral() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE r '
        "referrals; c cases; after case_tally_key; before case_tally_key; BEGIN IF TG_OP = 'INSERT' THEN r "
        ":= NEW; ELSE r := OLD; END IF; IF r.office NOT IN ('conduct', 'umpd') OR EXISTS (SELECT 1 FROM "
        'referrals x WHERE x.case_id = r.case_id AND x.office = r.office AND x.id <> r.id) THEN RETURN NULL; '
        'END IF; SELECT * INTO c FROM cases WHERE id = r.case_id; IF NOT FOUND THEN RETURN NULL; END IF; '
        "after := case_tally_key(c); before := after; IF r.office = 'conduct' THEN before.referred_conduct "
        ":= TG_OP = 'DELETE'; ELSE before.referred_umpd := TG_OP = 'DELETE'; END IF; PERFORM "
        'case_tallies_move(before, after); RETURN NULL; END $$'
    ),
]
PG_TRIGGERS = [
    (
        'CREATE TRIGGER case_tallies_cases AFTER INSERT OR UPDATE OF status, office, due_on, restricted, '
        'acknowledged_at ON cases FOR EACH ROW EXECUTE FUNCTION case_tallies_on_case()'
    ),
    (
        'CREATE TRIGGER case_tallies_cases_del BEFORE DELETE ON cases FOR EACH ROW EXECUTE FUNCTION '
        'case_tallies_on_case()'
    ),
    (
        'CREATE TRIGGER case_tallies_referrals AFTER INSERT OR DELETE ON referrals FOR EACH ROW EXECUTE '
        'FUNCTION case_tallies_on_referral()'
    ),
]
PG_RECOUNT = [
    (
        'DELETE FROM case_tallies'
    ),
    (
        'INSERT INTO case_tallies (status, office, due_on, restricted, unacknowledged, referred_conduct, '
        "referred_umpd, cases) SELECT c.status, c.office, coalesce(c.due_on, DATE '9999-12-31'), "
        'c.restricted, c.acknowledged_at IS NULL, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id '
        "AND r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'umpd'), count(*) FROM cases c GROUP BY 1, 2, 3, 4, 5, 6, 7"
    ),
]
PG_DROP_FUNCTIONS = [
    (
        'DROP FUNCTION case_tallies_on_referral()'
    ),
    (
        'DROP FUNCTION case_tallies_on_case()'
    ),
    (
        'DROP FUNCTION case_tallies_move(case_tally_key, case_tally_key)'
    ),
    (
        'DROP FUNCTION case_tallies_add(case_tally_key, integer)'
    ),
    (
        'DROP FUNCTION case_tally_key(cases)'
    ),
    (
        'DROP TYPE case_tally_key'
    ),
]


def upgrade():
    op.create_table(
        "case_tallies",
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("office", sa.String(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("unacknowledged", sa.Boolean(), nullable=False),
        sa.Column("referred_conduct", sa.Boolean(), nullable=False),
        sa.Column("referred_umpd", sa.Boolean(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "status",
            "office",
            "due_on",
            "restricted",
            "unacknowledged",
            "referred_conduct",
            "referred_umpd",
            name=op.f("pk_case_tallies"),
        ),
    )
    op.create_index(
        "ix_cases_restricted_assignee",
        "cases",
        ["assignee_id"],
        sqlite_where=sa.text("restricted = 1"),
        postgresql_where=sa.text("restricted"),
    )
    op.drop_index("ix_case_events_to_state_created", table_name="case_events")
    if op.get_bind().dialect.name == "postgresql":
        statements = PG_FUNCTIONS + PG_TRIGGERS + PG_RECOUNT
    else:
        statements = SQLITE_TRIGGERS + SQLITE_RECOUNT
    for statement in statements:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_TRIGGERS:
            name, table = statement.split()[2], statement.split(" ON ")[1].split()[0]
            op.execute(f"DROP TRIGGER {name} ON {table}")
        for statement in PG_DROP_FUNCTIONS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute("DROP TRIGGER " + statement.split()[2])
    op.drop_table("case_tallies")
    op.drop_index("ix_cases_restricted_assignee", table_name="cases")
    op.create_index("ix_case_events_to_state_created", "case_events", ["to_state", "created_at"])
