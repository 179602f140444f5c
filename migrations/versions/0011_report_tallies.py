"""Dashboard: report tallies. The dashboard's platforms and behaviours of the last 26 weeks were counted by looking
up each recent case's platforms and behaviours (on a million cases, 49,000 cases: about 170 ms on PostgreSQL).
`report_tallies` keeps, per week of report, platform or behaviour, and combination of state, office, restriction
and referral to Conduct or UMPD, how many cases name it, kept by triggers on `cases`, `case_platforms`,
`case_behaviours` and `referrals` (see casework/reports/tallies.py); the dashboard sums a few thousand of them.

The statements below are a frozen copy of those in casework/reports/tallies.py at this revision;
tests/reports/test_tallies.py checks they still agree.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None
EMPTY = "cases = 0"

SQLITE_TRIGGERS = [
    (
        "CREATE TRIGGER report_tallies_cases_upd AFTER UPDATE OF status, office, restricted, created_at ON "
        "cases BEGIN INSERT INTO report_tallies (week, kind, value, status, office, restricted, "
        "referred_conduct, referred_umpd, cases) SELECT date(OLD.created_at, 'weekday 0', '-6 days'), "
        "'platform', p.platform, OLD.status, OLD.office, OLD.restricted, EXISTS (SELECT 1 FROM referrals r "
        "WHERE r.case_id = OLD.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE "
        "r.case_id = OLD.id AND r.office = 'umpd'), -1 FROM case_platforms p WHERE p.case_id = OLD.id ON "
        "CONFLICT (week, kind, value, status, office, restricted, referred_conduct, referred_umpd) DO UPDATE "
        "SET cases = report_tallies.cases + excluded.cases; INSERT INTO report_tallies (week, kind, value, "
        "status, office, restricted, referred_conduct, referred_umpd, cases) SELECT date(OLD.created_at, "
        "'weekday 0', '-6 days'), 'behaviour', p.behaviour, OLD.status, OLD.office, OLD.restricted, EXISTS "
        "(SELECT 1 FROM referrals r WHERE r.case_id = OLD.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM"
        " referrals r WHERE r.case_id = OLD.id AND r.office = 'umpd'), -1 FROM case_behaviours p WHERE "
        "p.case_id = OLD.id ON CONFLICT (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; DELETE FROM "
        "report_tallies WHERE cases = 0; INSERT INTO report_tallies (week, kind, value, status, office, "
        "restricted, referred_conduct, referred_umpd, cases) SELECT date(NEW.created_at, 'weekday 0', '-6 "
        "days'), 'platform', p.platform, NEW.status, NEW.office, NEW.restricted, EXISTS (SELECT 1 FROM "
        "referrals r WHERE r.case_id = NEW.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r "
        "WHERE r.case_id = NEW.id AND r.office = 'umpd'), 1 FROM case_platforms p WHERE p.case_id = NEW.id ON"
        " CONFLICT (week, kind, value, status, office, restricted, referred_conduct, referred_umpd) DO UPDATE"
        " SET cases = report_tallies.cases + excluded.cases; INSERT INTO report_tallies (week, kind, value, "
        "status, office, restricted, referred_conduct, referred_umpd, cases) SELECT date(NEW.created_at, "
        "'weekday 0', '-6 days'), 'behaviour', p.behaviour, NEW.status, NEW.office, NEW.restricted, EXISTS "
        "(SELECT 1 FROM referrals r WHERE r.case_id = NEW.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM"
        " referrals r WHERE r.case_id = NEW.id AND r.office = 'umpd'), 1 FROM case_behaviours p WHERE "
        "p.case_id = NEW.id ON CONFLICT (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; END"
    ),
    (
        "CREATE TRIGGER report_tallies_cases_del BEFORE DELETE ON cases BEGIN INSERT INTO report_tallies "
        "(week, kind, value, status, office, restricted, referred_conduct, referred_umpd, cases) SELECT "
        "date(OLD.created_at, 'weekday 0', '-6 days'), 'platform', p.platform, OLD.status, OLD.office, "
        "OLD.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = OLD.id AND r.office = "
        "'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = OLD.id AND r.office = 'umpd'), -1 "
        "FROM case_platforms p WHERE p.case_id = OLD.id ON CONFLICT (week, kind, value, status, office, "
        "restricted, referred_conduct, referred_umpd) DO UPDATE SET cases = report_tallies.cases + "
        "excluded.cases; INSERT INTO report_tallies (week, kind, value, status, office, restricted, "
        "referred_conduct, referred_umpd, cases) SELECT date(OLD.created_at, 'weekday 0', '-6 days'), "
        "'behaviour', p.behaviour, OLD.status, OLD.office, OLD.restricted, EXISTS (SELECT 1 FROM referrals r "
        "WHERE r.case_id = OLD.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE "
        "r.case_id = OLD.id AND r.office = 'umpd'), -1 FROM case_behaviours p WHERE p.case_id = OLD.id ON "
        "CONFLICT (week, kind, value, status, office, restricted, referred_conduct, referred_umpd) DO UPDATE "
        "SET cases = report_tallies.cases + excluded.cases; DELETE FROM report_tallies WHERE cases = 0; END"
    ),
    (
        "CREATE TRIGGER report_tallies_case_platforms_ins AFTER INSERT ON case_platforms BEGIN INSERT INTO "
        "report_tallies (week, kind, value, status, office, restricted, referred_conduct, referred_umpd, "
        "cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'platform', NEW.platform, c.status, "
        "c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'umpd'), 1 FROM "
        "cases c WHERE c.id = NEW.case_id ON CONFLICT (week, kind, value, status, office, restricted, "
        "referred_conduct, referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; END"
    ),
    (
        "CREATE TRIGGER report_tallies_case_platforms_upd AFTER UPDATE OF case_id, platform ON case_platforms"
        " BEGIN INSERT INTO report_tallies (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd, cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'platform', OLD.platform, "
        "c.status, c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND "
        "r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'umpd'), -1 FROM cases c WHERE c.id = OLD.case_id ON CONFLICT (week, kind, value, status, office, "
        "restricted, referred_conduct, referred_umpd) DO UPDATE SET cases = report_tallies.cases + "
        "excluded.cases; DELETE FROM report_tallies WHERE cases = 0; INSERT INTO report_tallies (week, kind, "
        "value, status, office, restricted, referred_conduct, referred_umpd, cases) SELECT date(c.created_at,"
        " 'weekday 0', '-6 days'), 'platform', NEW.platform, c.status, c.office, c.restricted, EXISTS (SELECT"
        " 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM "
        "referrals r WHERE r.case_id = c.id AND r.office = 'umpd'), 1 FROM cases c WHERE c.id = NEW.case_id "
        "ON CONFLICT (week, kind, value, status, office, restricted, referred_conduct, referred_umpd) DO "
        "UPDATE SET cases = report_tallies.cases + excluded.cases; END"
    ),
    (
        "CREATE TRIGGER report_tallies_case_platforms_del AFTER DELETE ON case_platforms BEGIN INSERT INTO "
        "report_tallies (week, kind, value, status, office, restricted, referred_conduct, referred_umpd, "
        "cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'platform', OLD.platform, c.status, "
        "c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'umpd'), -1 FROM"
        " cases c WHERE c.id = OLD.case_id ON CONFLICT (week, kind, value, status, office, restricted, "
        "referred_conduct, referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; DELETE"
        " FROM report_tallies WHERE cases = 0; END"
    ),
    (
        "CREATE TRIGGER report_tallies_case_behaviours_ins AFTER INSERT ON case_behaviours BEGIN INSERT INTO "
        "report_tallies (week, kind, value, status, office, restricted, referred_conduct, referred_umpd, "
        "cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'behaviour', NEW.behaviour, c.status, "
        "c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'umpd'), 1 FROM "
        "cases c WHERE c.id = NEW.case_id ON CONFLICT (week, kind, value, status, office, restricted, "
        "referred_conduct, referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; END"
    ),
    (
        "CREATE TRIGGER report_tallies_case_behaviours_upd AFTER UPDATE OF case_id, behaviour ON "
        "case_behaviours BEGIN INSERT INTO report_tallies (week, kind, value, status, office, restricted, "
        "referred_conduct, referred_umpd, cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), "
        "'behaviour', OLD.behaviour, c.status, c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r "
        "WHERE r.case_id = c.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id "
        "= c.id AND r.office = 'umpd'), -1 FROM cases c WHERE c.id = OLD.case_id ON CONFLICT (week, kind, "
        "value, status, office, restricted, referred_conduct, referred_umpd) DO UPDATE SET cases = "
        "report_tallies.cases + excluded.cases; DELETE FROM report_tallies WHERE cases = 0; INSERT INTO "
        "report_tallies (week, kind, value, status, office, restricted, referred_conduct, referred_umpd, "
        "cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'behaviour', NEW.behaviour, c.status, "
        "c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'umpd'), 1 FROM "
        "cases c WHERE c.id = NEW.case_id ON CONFLICT (week, kind, value, status, office, restricted, "
        "referred_conduct, referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; END"
    ),
    (
        "CREATE TRIGGER report_tallies_case_behaviours_del AFTER DELETE ON case_behaviours BEGIN INSERT INTO "
        "report_tallies (week, kind, value, status, office, restricted, referred_conduct, referred_umpd, "
        "cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'behaviour', OLD.behaviour, c.status, "
        "c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'umpd'), -1 FROM"
        " cases c WHERE c.id = OLD.case_id ON CONFLICT (week, kind, value, status, office, restricted, "
        "referred_conduct, referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; DELETE"
        " FROM report_tallies WHERE cases = 0; END"
    ),
    (
        "CREATE TRIGGER report_tallies_conduct_ins AFTER INSERT ON referrals WHEN NEW.office = 'conduct' AND "
        "NOT EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = NEW.case_id AND r.office = NEW.office AND "
        "r.id <> NEW.id) BEGIN INSERT INTO report_tallies (week, kind, value, status, office, restricted, "
        "referred_conduct, referred_umpd, cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), "
        "'platform', p.platform, c.status, c.office, c.restricted, 0, EXISTS (SELECT 1 FROM referrals r WHERE"
        " r.case_id = c.id AND r.office = 'umpd'), -1 FROM cases c JOIN case_platforms p ON p.case_id = c.id "
        "WHERE c.id = NEW.case_id ON CONFLICT (week, kind, value, status, office, restricted, "
        "referred_conduct, referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; INSERT"
        " INTO report_tallies (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd, cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'behaviour', p.behaviour, "
        "c.status, c.office, c.restricted, 0, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND "
        "r.office = 'umpd'), -1 FROM cases c JOIN case_behaviours p ON p.case_id = c.id WHERE c.id = "
        "NEW.case_id ON CONFLICT (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; DELETE FROM "
        "report_tallies WHERE cases = 0; INSERT INTO report_tallies (week, kind, value, status, office, "
        "restricted, referred_conduct, referred_umpd, cases) SELECT date(c.created_at, 'weekday 0', '-6 "
        "days'), 'platform', p.platform, c.status, c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r "
        "WHERE r.case_id = c.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id "
        "= c.id AND r.office = 'umpd'), 1 FROM cases c JOIN case_platforms p ON p.case_id = c.id WHERE c.id ="
        " NEW.case_id ON CONFLICT (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; INSERT INTO "
        "report_tallies (week, kind, value, status, office, restricted, referred_conduct, referred_umpd, "
        "cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'behaviour', p.behaviour, c.status, "
        "c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'umpd'), 1 FROM "
        "cases c JOIN case_behaviours p ON p.case_id = c.id WHERE c.id = NEW.case_id ON CONFLICT (week, kind,"
        " value, status, office, restricted, referred_conduct, referred_umpd) DO UPDATE SET cases = "
        "report_tallies.cases + excluded.cases; END"
    ),
    (
        "CREATE TRIGGER report_tallies_conduct_del AFTER DELETE ON referrals WHEN OLD.office = 'conduct' AND "
        "NOT EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = OLD.case_id AND r.office = OLD.office) BEGIN"
        " INSERT INTO report_tallies (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd, cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'platform', p.platform, "
        "c.status, c.office, c.restricted, 1, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND "
        "r.office = 'umpd'), -1 FROM cases c JOIN case_platforms p ON p.case_id = c.id WHERE c.id = "
        "OLD.case_id ON CONFLICT (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; INSERT INTO "
        "report_tallies (week, kind, value, status, office, restricted, referred_conduct, referred_umpd, "
        "cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'behaviour', p.behaviour, c.status, "
        "c.office, c.restricted, 1, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'umpd'), -1 FROM cases c JOIN case_behaviours p ON p.case_id = c.id WHERE c.id = OLD.case_id ON "
        "CONFLICT (week, kind, value, status, office, restricted, referred_conduct, referred_umpd) DO UPDATE "
        "SET cases = report_tallies.cases + excluded.cases; DELETE FROM report_tallies WHERE cases = 0; "
        "INSERT INTO report_tallies (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd, cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'platform', p.platform, "
        "c.status, c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND "
        "r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'umpd'), 1 FROM cases c JOIN case_platforms p ON p.case_id = c.id WHERE c.id = OLD.case_id ON "
        "CONFLICT (week, kind, value, status, office, restricted, referred_conduct, referred_umpd) DO UPDATE "
        "SET cases = report_tallies.cases + excluded.cases; INSERT INTO report_tallies (week, kind, value, "
        "status, office, restricted, referred_conduct, referred_umpd, cases) SELECT date(c.created_at, "
        "'weekday 0', '-6 days'), 'behaviour', p.behaviour, c.status, c.office, c.restricted, EXISTS (SELECT "
        "1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals"
        " r WHERE r.case_id = c.id AND r.office = 'umpd'), 1 FROM cases c JOIN case_behaviours p ON p.case_id"
        " = c.id WHERE c.id = OLD.case_id ON CONFLICT (week, kind, value, status, office, restricted, "
        "referred_conduct, referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; END"
    ),
    (
        "CREATE TRIGGER report_tallies_umpd_ins AFTER INSERT ON referrals WHEN NEW.office = 'umpd' AND NOT "
        "EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = NEW.case_id AND r.office = NEW.office AND r.id "
        "<> NEW.id) BEGIN INSERT INTO report_tallies (week, kind, value, status, office, restricted, "
        "referred_conduct, referred_umpd, cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), "
        "'platform', p.platform, c.status, c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE "
        "r.case_id = c.id AND r.office = 'conduct'), 0, -1 FROM cases c JOIN case_platforms p ON p.case_id = "
        "c.id WHERE c.id = NEW.case_id ON CONFLICT (week, kind, value, status, office, restricted, "
        "referred_conduct, referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; INSERT"
        " INTO report_tallies (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd, cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'behaviour', p.behaviour, "
        "c.status, c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND "
        "r.office = 'conduct'), 0, -1 FROM cases c JOIN case_behaviours p ON p.case_id = c.id WHERE c.id = "
        "NEW.case_id ON CONFLICT (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; DELETE FROM "
        "report_tallies WHERE cases = 0; INSERT INTO report_tallies (week, kind, value, status, office, "
        "restricted, referred_conduct, referred_umpd, cases) SELECT date(c.created_at, 'weekday 0', '-6 "
        "days'), 'platform', p.platform, c.status, c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r "
        "WHERE r.case_id = c.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id "
        "= c.id AND r.office = 'umpd'), 1 FROM cases c JOIN case_platforms p ON p.case_id = c.id WHERE c.id ="
        " NEW.case_id ON CONFLICT (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; INSERT INTO "
        "report_tallies (week, kind, value, status, office, restricted, referred_conduct, referred_umpd, "
        "cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'behaviour', p.behaviour, c.status, "
        "c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'umpd'), 1 FROM "
        "cases c JOIN case_behaviours p ON p.case_id = c.id WHERE c.id = NEW.case_id ON CONFLICT (week, kind,"
        " value, status, office, restricted, referred_conduct, referred_umpd) DO UPDATE SET cases = "
        "report_tallies.cases + excluded.cases; END"
    ),
    (
        "CREATE TRIGGER report_tallies_umpd_del AFTER DELETE ON referrals WHEN OLD.office = 'umpd' AND NOT "
        "EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = OLD.case_id AND r.office = OLD.office) BEGIN "
        "INSERT INTO report_tallies (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd, cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'platform', p.platform, "
        "c.status, c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND "
        "r.office = 'conduct'), 1, -1 FROM cases c JOIN case_platforms p ON p.case_id = c.id WHERE c.id = "
        "OLD.case_id ON CONFLICT (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; INSERT INTO "
        "report_tallies (week, kind, value, status, office, restricted, referred_conduct, referred_umpd, "
        "cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'behaviour', p.behaviour, c.status, "
        "c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'conduct'), 1, -1 FROM cases c JOIN case_behaviours p ON p.case_id = c.id WHERE c.id = OLD.case_id "
        "ON CONFLICT (week, kind, value, status, office, restricted, referred_conduct, referred_umpd) DO "
        "UPDATE SET cases = report_tallies.cases + excluded.cases; DELETE FROM report_tallies WHERE cases = "
        "0; INSERT INTO report_tallies (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd, cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'platform', p.platform, "
        "c.status, c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND "
        "r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'umpd'), 1 FROM cases c JOIN case_platforms p ON p.case_id = c.id WHERE c.id = OLD.case_id ON "
        "CONFLICT (week, kind, value, status, office, restricted, referred_conduct, referred_umpd) DO UPDATE "
        "SET cases = report_tallies.cases + excluded.cases; INSERT INTO report_tallies (week, kind, value, "
        "status, office, restricted, referred_conduct, referred_umpd, cases) SELECT date(c.created_at, "
        "'weekday 0', '-6 days'), 'behaviour', p.behaviour, c.status, c.office, c.restricted, EXISTS (SELECT "
        "1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals"
        " r WHERE r.case_id = c.id AND r.office = 'umpd'), 1 FROM cases c JOIN case_behaviours p ON p.case_id"
        " = c.id WHERE c.id = OLD.case_id ON CONFLICT (week, kind, value, status, office, restricted, "
        "referred_conduct, referred_umpd) DO UPDATE SET cases = report_tallies.cases + excluded.cases; END"
    ),
]

SQLITE_RECOUNT = [
    ("DELETE FROM report_tallies"),
    (
        "INSERT INTO report_tallies (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd, cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'platform', p.platform, "
        "c.status, c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND "
        "r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'umpd'), count(*) FROM case_platforms p JOIN cases c ON c.id = p.case_id GROUP BY 1, 2, 3, 4, 5, 6, "
        "7, 8"
    ),
    (
        "INSERT INTO report_tallies (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd, cases) SELECT date(c.created_at, 'weekday 0', '-6 days'), 'behaviour', p.behaviour, "
        "c.status, c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND "
        "r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'umpd'), count(*) FROM case_behaviours p JOIN cases c ON c.id = p.case_id GROUP BY 1, 2, 3, 4, 5, 6,"
        " 7, 8"
    ),
]

PG_FUNCTIONS = [
    (
        "CREATE TYPE report_tally_scope AS (week date, status varchar(32), office varchar(16), restricted "
        "boolean, referred_conduct boolean, referred_umpd boolean)"
    ),
    (
        "CREATE FUNCTION report_tally_scope(c cases) RETURNS report_tally_scope LANGUAGE sql STABLE AS $$ "
        "SELECT ROW(CAST(date_trunc('week', c.created_at) AS date), c.status, c.office, c.restricted, EXISTS "
        "(SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM "
        "referrals r WHERE r.case_id = c.id AND r.office = 'umpd'))::report_tally_scope $$"
    ),
    (
        "CREATE FUNCTION report_tallies_add(s report_tally_scope, part_kind varchar, part_value varchar, "
        "amount integer) RETURNS void LANGUAGE sql AS $$ INSERT INTO report_tallies (week, kind, value, "
        "status, office, restricted, referred_conduct, referred_umpd, cases) SELECT (s).week, part_kind, "
        "part_value, (s).status, (s).office, (s).restricted, (s).referred_conduct, (s).referred_umpd, amount "
        "ON CONFLICT (week, kind, value, status, office, restricted, referred_conduct, referred_umpd) DO "
        "UPDATE SET cases = report_tallies.cases + excluded.cases $$"
    ),
    (
        "CREATE FUNCTION report_tallies_move(moved integer, leaving report_tally_scope, joining "
        "report_tally_scope) RETURNS void LANGUAGE plpgsql AS $$ DECLARE part record; BEGIN IF leaving IS NOT"
        " DISTINCT FROM joining THEN RETURN; END IF; PERFORM pg_advisory_xact_lock(1128354629); FOR part IN "
        "SELECT 'platform' AS kind, platform AS value FROM case_platforms WHERE case_id = moved UNION ALL "
        "SELECT 'behaviour' AS kind, behaviour AS value FROM case_behaviours WHERE case_id = moved LOOP IF "
        "leaving IS NOT NULL THEN PERFORM report_tallies_add(leaving, part.kind, part.value, -1); END IF; IF "
        "joining IS NOT NULL THEN PERFORM report_tallies_add(joining, part.kind, part.value, 1); END IF; END "
        "LOOP; DELETE FROM report_tallies WHERE cases = 0; END $$"
    ),
    (
        "CREATE FUNCTION report_tallies_on_case() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = "
        "'UPDATE' THEN PERFORM report_tallies_move(NEW.id, report_tally_scope(OLD), report_tally_scope(NEW));"
        " ELSE PERFORM report_tallies_move(OLD.id, report_tally_scope(OLD), NULL); END IF; RETURN OLD; END $$"
    ),
    (
        "CREATE FUNCTION report_tallies_on_part() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE c cases; "
        "BEGIN PERFORM pg_advisory_xact_lock(1128354629); IF TG_OP <> 'INSERT' THEN SELECT * INTO c FROM "
        "cases WHERE id = OLD.case_id; IF FOUND THEN PERFORM report_tallies_add(report_tally_scope(c), "
        "TG_ARGV[0], to_jsonb(OLD) ->> TG_ARGV[0], -1); DELETE FROM report_tallies WHERE cases = 0; END IF; "
        "END IF; IF TG_OP <> 'DELETE' THEN SELECT * INTO c FROM cases WHERE id = NEW.case_id; IF FOUND THEN "
        "PERFORM report_tallies_add(report_tally_scope(c), TG_ARGV[0], to_jsonb(NEW) ->> TG_ARGV[0], 1); END "
        "IF; END IF; RETURN NULL; END $$"
    ),
    (
        "CREATE FUNCTION report_tallies_on_referral() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE r "
        "referrals; c cases; after report_tally_scope; before report_tally_scope; BEGIN IF TG_OP = 'INSERT' "
        "THEN r := NEW; ELSE r := OLD; END IF; IF r.office NOT IN ('conduct', 'umpd') OR EXISTS (SELECT 1 "
        "FROM referrals x WHERE x.case_id = r.case_id AND x.office = r.office AND x.id <> r.id) THEN RETURN "
        "NULL; END IF; SELECT * INTO c FROM cases WHERE id = r.case_id; IF NOT FOUND THEN RETURN NULL; END "
        "IF; after := report_tally_scope(c); before := after; IF r.office = 'conduct' THEN "
        "before.referred_conduct := TG_OP = 'DELETE'; ELSE before.referred_umpd := TG_OP = 'DELETE'; END IF; "
        "PERFORM report_tallies_move(c.id, before, after); RETURN NULL; END $$"
    ),
]

PG_TRIGGERS = [
    (
        "CREATE TRIGGER report_tallies_cases AFTER UPDATE OF status, office, restricted, created_at ON cases "
        "FOR EACH ROW EXECUTE FUNCTION report_tallies_on_case()"
    ),
    (
        "CREATE TRIGGER report_tallies_cases_del BEFORE DELETE ON cases FOR EACH ROW EXECUTE FUNCTION "
        "report_tallies_on_case()"
    ),
    (
        "CREATE TRIGGER report_tallies_case_platforms AFTER INSERT OR DELETE OR UPDATE OF case_id, platform "
        "ON case_platforms FOR EACH ROW EXECUTE FUNCTION report_tallies_on_part('platform')"
    ),
    (
        "CREATE TRIGGER report_tallies_case_behaviours AFTER INSERT OR DELETE OR UPDATE OF case_id, behaviour"
        " ON case_behaviours FOR EACH ROW EXECUTE FUNCTION report_tallies_on_part('behaviour')"
    ),
    (
        "CREATE TRIGGER report_tallies_referrals AFTER INSERT OR DELETE ON referrals FOR EACH ROW EXECUTE "
        "FUNCTION report_tallies_on_referral()"
    ),
]

PG_RECOUNT = [
    ("DELETE FROM report_tallies"),
    (
        "INSERT INTO report_tallies (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd, cases) SELECT CAST(date_trunc('week', c.created_at) AS date), 'platform', p.platform,"
        " c.status, c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND "
        "r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.office = "
        "'umpd'), count(*) FROM case_platforms p JOIN cases c ON c.id = p.case_id GROUP BY 1, 2, 3, 4, 5, 6, "
        "7, 8"
    ),
    (
        "INSERT INTO report_tallies (week, kind, value, status, office, restricted, referred_conduct, "
        "referred_umpd, cases) SELECT CAST(date_trunc('week', c.created_at) AS date), 'behaviour', "
        "p.behaviour, c.status, c.office, c.restricted, EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = "
        "c.id AND r.office = 'conduct'), EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND "
        "r.office = 'umpd'), count(*) FROM case_behaviours p JOIN cases c ON c.id = p.case_id GROUP BY 1, 2, "
        "3, 4, 5, 6, 7, 8"
    ),
]

PG_DROP_FUNCTIONS = [
    ("DROP FUNCTION report_tallies_on_referral()"),
    ("DROP FUNCTION report_tallies_on_part()"),
    ("DROP FUNCTION report_tallies_on_case()"),
    ("DROP FUNCTION report_tallies_move(integer, report_tally_scope, report_tally_scope)"),
    ("DROP FUNCTION report_tallies_add(report_tally_scope, varchar, varchar, integer)"),
    ("DROP FUNCTION report_tally_scope(cases)"),
    ("DROP TYPE report_tally_scope"),
]


def upgrade():
    op.create_table(
        "report_tallies",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("office", sa.String(length=16), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("referred_conduct", sa.Boolean(), nullable=False),
        sa.Column("referred_umpd", sa.Boolean(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "week",
            "kind",
            "value",
            "status",
            "office",
            "restricted",
            "referred_conduct",
            "referred_umpd",
            name=op.f("pk_report_tallies"),
        ),
    )
    op.create_index(
        "ix_report_tallies_empty",
        "report_tallies",
        ["week"],
        sqlite_where=sa.text(EMPTY),
        postgresql_where=sa.text(EMPTY),
    )
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
    op.drop_index("ix_report_tallies_empty", table_name="report_tallies")
    op.drop_table("report_tallies")
