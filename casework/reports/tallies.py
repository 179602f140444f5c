# ruff: noqa: S608 - the SQL here is assembled from constants of this module only.
"""Case tallies: how many cases there are of each kind that the dashboard's open counts tell apart.

A million-case office has hundreds of thousands of open cases, and counting them on every dashboard computation
is a pass over all of them (150-180 ms). `case_tallies` keeps one row per combination of what those counts
need — state, office, deadline, restriction, acknowledgement, and whether the case was ever referred to
Conduct or UMPD (what the referral roles see) — with the number of cases in it, so the open counts of a role
sum a few thousand rows (access.tally_scope says which). A case without a deadline is counted under
NO_DEADLINE, a date that is never past.

SQL triggers on `cases` and `referrals` keep the tallies in step, in the same transaction as the change,
whichever service writes it: a case leaves the tally of its old key and joins that of its new one, and a tally
left with no cases is deleted (so the table holds only the combinations some case has, however many deadlines
come and go). On PostgreSQL a change of tallies first takes the audit append lock (audit.PG_AUDIT_LOCK_KEY),
which every transaction that changes a case takes anyway to record the change: so two transactions never hold
tallies the other one wants (a transition with a referral moves a case twice), and the locks are always taken
in the same order (the case row, then the append lock). A case is counted out *before* it is deleted, while
its referrals still exist. `recount()` rebuilds the tallies from the cases (`flask dashboard recount`); the demo
seeder suspends the triggers for its bulk load and recounts at the end. Migrations 0009 and 0010 (the triggers
and the move that delete an emptied tally) hold frozen copies of the statements; a test checks they agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from casework.audit import PG_AUDIT_LOCK_KEY
from casework.extensions import db

NO_DEADLINE = date(9999, 12, 31)
REFERRAL_OFFICES = ("conduct", "umpd")
KEY = ("status", "office", "due_on", "restricted", "unacknowledged", "referred_conduct", "referred_umpd")
_KEY_LIST = ", ".join(KEY)
_NO_DEADLINE = {"sqlite": f"'{NO_DEADLINE}'", "postgresql": f"DATE '{NO_DEADLINE}'"}
_UPSERT = f" ON CONFLICT ({_KEY_LIST}) DO UPDATE SET cases = case_tallies.cases + excluded.cases"
# A tally a case leaves may fall to no cases: it goes at once (found by the partial index ix_case_tallies_empty).
DROP_EMPTY = "DELETE FROM case_tallies WHERE cases = 0"


def _key(row: str, dialect: str, referred: dict[str, str] | None = None) -> str:
    """The tally key of the case `row` (NEW, OLD or c) as SQL expressions; its referral flags as the referrals
    are now, unless `referred` gives one."""
    flags = {
        office: f"EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = {row}.id AND r.office = '{office}')"
        for office in REFERRAL_OFFICES
    }
    flags.update(referred or {})
    return (
        f"{row}.status, {row}.office, coalesce({row}.due_on, {_NO_DEADLINE[dialect]}), {row}.restricted, "
        f"{row}.acknowledged_at IS NULL, {flags['conduct']}, {flags['umpd']}"
    )


RECOUNT = [
    "DELETE FROM case_tallies",
    f"INSERT INTO case_tallies ({_KEY_LIST}, cases) SELECT {{key}}, count(*) FROM cases c GROUP BY 1, 2, 3, 4, 5, 6, 7",
]


# --- SQLite: one writer at a time, so the order of the two changes does not matter ---------------


def _sqlite_add(key: str, amount: int, source: str = " WHERE true") -> str:
    # (With no FROM, " WHERE true" tells SQLite's parser that ON CONFLICT begins the upsert.)
    return f"INSERT INTO case_tallies ({_KEY_LIST}, cases) SELECT {key}, {amount}{source}{_UPSERT};"


def _sqlite_leave(key: str, source: str = " WHERE true") -> str:
    return f"{_sqlite_add(key, -1, source)} {DROP_EMPTY};"


def _sqlite_referral_triggers() -> dict[str, str]:
    """A case's first referral to Conduct or UMPD, or the deletion of its last one, changes its flag."""
    source = " FROM cases c WHERE c.id = {row}.case_id"
    others = "SELECT 1 FROM referrals r WHERE r.case_id = {row}.case_id AND r.office = {row}.office{but}"
    triggers = {}
    for office in REFERRAL_OFFICES:
        for event, row, was, but in (("INSERT", "NEW", "0", " AND r.id <> NEW.id"), ("DELETE", "OLD", "1", "")):
            before = _key("c", "sqlite", {office: was})
            triggers[f"case_tallies_{office}_{event.lower()[:3]}"] = (
                f"AFTER {event} ON referrals WHEN {row}.office = '{office}' "
                f"AND NOT EXISTS ({others.format(row=row, but=but)}) BEGIN "
                f"{_sqlite_leave(before, source.format(row=row))} "
                f"{_sqlite_add(_key('c', 'sqlite'), 1, source.format(row=row))} END"
            )
    return triggers


SQLITE_TRIGGERS = {
    "case_tallies_cases_ins": f"AFTER INSERT ON cases BEGIN {_sqlite_add(_key('NEW', 'sqlite'), 1)} END",
    "case_tallies_cases_upd": (
        "AFTER UPDATE OF status, office, due_on, restricted, acknowledged_at ON cases BEGIN "
        f"{_sqlite_leave(_key('OLD', 'sqlite'))} {_sqlite_add(_key('NEW', 'sqlite'), 1)} END"
    ),
    "case_tallies_cases_del": f"BEFORE DELETE ON cases BEGIN {_sqlite_leave(_key('OLD', 'sqlite'))} END",
    **_sqlite_referral_triggers(),
}


# --- PostgreSQL ---------------------------------------------------------------------------------

PG_FUNCTIONS = [
    "CREATE TYPE case_tally_key AS (status varchar(32), office varchar(16), due_on date, restricted boolean, "
    "unacknowledged boolean, referred_conduct boolean, referred_umpd boolean)",
    "CREATE FUNCTION case_tally_key(c cases) RETURNS case_tally_key LANGUAGE sql STABLE AS $$ "
    f"SELECT ROW({_key('c', 'postgresql')})::case_tally_key $$",
    "CREATE FUNCTION case_tallies_add(k case_tally_key, amount integer) RETURNS void LANGUAGE sql AS $$ "
    f"INSERT INTO case_tallies ({_KEY_LIST}, cases) SELECT (k).*, amount{_UPSERT} $$",
    # Either key may be NULL (a case inserted or deleted). The audit append lock first (see the module's docstring).
    "CREATE FUNCTION case_tallies_move(leaving case_tally_key, joining case_tally_key) RETURNS void "
    "LANGUAGE plpgsql AS $$ BEGIN IF leaving IS NOT DISTINCT FROM joining THEN RETURN; END IF; "
    f"PERFORM pg_advisory_xact_lock({PG_AUDIT_LOCK_KEY}); "
    f"IF leaving IS NOT NULL THEN PERFORM case_tallies_add(leaving, -1); {DROP_EMPTY}; END IF; "
    "IF joining IS NOT NULL THEN PERFORM case_tallies_add(joining, 1); END IF; END $$",
    # Returns OLD: a BEFORE DELETE trigger must, to let the delete go on (an AFTER trigger's result is ignored).
    "CREATE FUNCTION case_tallies_on_case() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'INSERT' THEN PERFORM case_tallies_move(NULL, case_tally_key(NEW)); "
    "ELSIF TG_OP = 'UPDATE' THEN PERFORM case_tallies_move(case_tally_key(OLD), case_tally_key(NEW)); "
    "ELSE PERFORM case_tallies_move(case_tally_key(OLD), NULL); END IF; RETURN OLD; END $$",
    # A case's first referral to an office, or the deletion of its last one, changes that office's flag.
    "CREATE FUNCTION case_tallies_on_referral() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "DECLARE r referrals; c cases; after case_tally_key; before case_tally_key; BEGIN "
    "IF TG_OP = 'INSERT' THEN r := NEW; ELSE r := OLD; END IF; "
    "IF r.office NOT IN ('conduct', 'umpd') OR EXISTS (SELECT 1 FROM referrals x WHERE x.case_id = r.case_id "
    "AND x.office = r.office AND x.id <> r.id) THEN RETURN NULL; END IF; "
    "SELECT * INTO c FROM cases WHERE id = r.case_id; IF NOT FOUND THEN RETURN NULL; END IF; "
    "after := case_tally_key(c); before := after; "
    "IF r.office = 'conduct' THEN before.referred_conduct := TG_OP = 'DELETE'; "
    "ELSE before.referred_umpd := TG_OP = 'DELETE'; END IF; "
    "PERFORM case_tallies_move(before, after); RETURN NULL; END $$",
]
PG_TRIGGERS = {
    "case_tallies_cases": "AFTER INSERT OR UPDATE OF status, office, due_on, restricted, acknowledged_at ON cases "
    "FOR EACH ROW EXECUTE FUNCTION case_tallies_on_case()",
    "case_tallies_cases_del": "BEFORE DELETE ON cases FOR EACH ROW EXECUTE FUNCTION case_tallies_on_case()",
    "case_tallies_referrals": "AFTER INSERT OR DELETE ON referrals FOR EACH ROW "
    "EXECUTE FUNCTION case_tallies_on_referral()",
}
PG_DROP_FUNCTIONS = [
    "DROP FUNCTION case_tallies_on_referral()",
    "DROP FUNCTION case_tallies_on_case()",
    "DROP FUNCTION case_tallies_move(case_tally_key, case_tally_key)",
    "DROP FUNCTION case_tallies_add(case_tally_key, integer)",
    "DROP FUNCTION case_tally_key(cases)",
    "DROP TYPE case_tally_key",
]


def trigger_statements(dialect: str) -> list[str]:
    """CREATE TRIGGER statements that keep the tallies in step."""
    triggers = PG_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS
    return [f"CREATE TRIGGER {name} {body}" for name, body in triggers.items()]


def drop_trigger_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP TRIGGER {name} ON {body.split(' ON ')[1].split()[0]}" for name, body in PG_TRIGGERS.items()]
    return [f"DROP TRIGGER {name}" for name in SQLITE_TRIGGERS]


def recount_statements(dialect: str) -> list[str]:
    key = _key("c", dialect)
    return [statement.format(key=key) for statement in RECOUNT]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


@contextmanager
def triggers_suspended(session: Session | None = None) -> Iterator[None]:
    """For bulk loads: drop the triggers and put them back (same transaction) afterwards; recount() then."""
    session = session or db.session
    for statement in drop_trigger_statements(_dialect(session)):
        session.execute(text(statement))
    yield
    for statement in trigger_statements(_dialect(session)):
        session.execute(text(statement))


def recount(session: Session | None = None) -> int:
    """Rebuild every tally from the cases; returns how many tallies there are."""
    session = session or db.session
    session.flush()
    for statement in recount_statements(_dialect(session)):
        session.execute(text(statement))
    return session.scalar(text("SELECT count(*) FROM case_tallies"))
