# ruff: noqa: S608 - the SQL here is assembled from constants of this module only.
"""Tallies behind the dashboard: how many cases there are of each kind its open counts tell apart (case tallies),
and how many of each week's reports name each platform and behaviour (report tallies).

A million-case office has hundreds of thousands of open cases, and counting them on every dashboard computation
is a pass over all of them (150-180 ms). `case_tallies` keeps one row per combination of what those counts
need — state, office, deadline, restriction, acknowledgement, and whether the case was ever referred to
Conduct or UMPD (what the referral roles see) — with the number of cases in it, so the open counts of a role
sum a few thousand rows (access.tally_scope says which). A case without a deadline is counted under
NO_DEADLINE, a date that is never past. Likewise the platforms and behaviours of the last 26 weeks' reports
(49,000 cases on a million, whose parts were looked up one case at a time: about 170 ms on PostgreSQL) are
summed from `report_tallies`: per week, platform or behaviour, and combination of state, office, restriction
and referral (what decides who sees a case).

SQL triggers on `cases` and `referrals` (and, for report tallies, `case_platforms` and `case_behaviours`) keep
the tallies in step, in the same transaction as the change, whichever service writes it: a case (or each of its
parts) leaves the tally of its old key and joins that of its new one, and a tally
left with no cases is deleted (so the table holds only the combinations some case has, however many deadlines
come and go). On PostgreSQL a change of tallies first takes the audit append lock (audit.PG_AUDIT_LOCK_KEY),
which every transaction that changes a case takes anyway to record the change: so two transactions never hold
tallies the other one wants (a transition with a referral moves a case twice), and the locks are always taken
in the same order (the case row, then the append lock). A case is counted out *before* it is deleted, while
its referrals and parts still exist. `recount()` rebuilds both kinds from the cases (`flask dashboard recount`);
the demo seeder suspends the triggers for its bulk load and recounts at the end. Migrations 0009, 0010 (the
triggers and the move that delete an emptied case tally) and 0011 (report tallies) hold frozen copies of the
statements; a test checks they agree.
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


def _flags(row: str, referred: dict[str, str] | None = None) -> dict[str, str]:
    """Whether the case `row` was ever referred to each referral office, as the referrals are now (SQL), unless
    `referred` gives an office's flag."""
    flags = {
        office: f"EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = {row}.id AND r.office = '{office}')"
        for office in REFERRAL_OFFICES
    }
    flags.update(referred or {})
    return flags


def _key(row: str, dialect: str, referred: dict[str, str] | None = None) -> str:
    """The tally key of the case `row` (NEW, OLD or c) as SQL expressions; its referral flags as the referrals
    are now, unless `referred` gives one."""
    flags = _flags(row, referred)
    return (
        f"{row}.status, {row}.office, coalesce({row}.due_on, {_NO_DEADLINE[dialect]}), {row}.restricted, "
        f"{row}.acknowledged_at IS NULL, {flags['conduct']}, {flags['umpd']}"
    )


RECOUNT = [
    "DELETE FROM case_tallies",
    f"INSERT INTO case_tallies ({_KEY_LIST}, cases) SELECT {{key}}, count(*) FROM cases c GROUP BY 1, 2, 3, 4, 5, 6, 7",
]


# --- SQLite: one writer at a time, so the order of the two changes does not matter ---------------


# Whether the case of a referral {row} has another referral to the same office (the referral is its first, or
# was its last, if not).
_OTHER_REFERRALS = "SELECT 1 FROM referrals r WHERE r.case_id = {row}.case_id AND r.office = {row}.office{but}"


def _sqlite_add(key: str, amount: int, source: str = " WHERE true") -> str:
    # (With no FROM, " WHERE true" tells SQLite's parser that ON CONFLICT begins the upsert.)
    return f"INSERT INTO case_tallies ({_KEY_LIST}, cases) SELECT {key}, {amount}{source}{_UPSERT};"


def _sqlite_leave(key: str, source: str = " WHERE true") -> str:
    return f"{_sqlite_add(key, -1, source)} {DROP_EMPTY};"


def _sqlite_referral_triggers() -> dict[str, str]:
    """A case's first referral to Conduct or UMPD, or the deletion of its last one, changes its flag."""
    source = " FROM cases c WHERE c.id = {row}.case_id"
    triggers = {}
    for office in REFERRAL_OFFICES:
        for event, row, was, but in (("INSERT", "NEW", "0", " AND r.id <> NEW.id"), ("DELETE", "OLD", "1", "")):
            before = _key("c", "sqlite", {office: was})
            triggers[f"case_tallies_{office}_{event.lower()[:3]}"] = (
                f"AFTER {event} ON referrals WHEN {row}.office = '{office}' "
                f"AND NOT EXISTS ({_OTHER_REFERRALS.format(row=row, but=but)}) BEGIN "
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


# --- Report tallies: the platforms and behaviours named by each week's reports ---------------------
#
# One row per week (the Monday, UTC, of the day the case was reported), platform or behaviour, and combination of
# what decides who sees a case (state, office, restriction, referral to Conduct or UMPD), with how many cases
# name it. A case's parts join its tallies when they are written; a case whose state, office or restriction
# changes, or that is first referred to (or loses its last referral to) Conduct or UMPD, moves all its parts to
# their new tallies; a deleted case takes them out first (its parts then go with no case to count them against).

PARTS = {"platform": "case_platforms", "behaviour": "case_behaviours"}  # kind -> table; its value column is the kind
REPORT_KEY = ("week", "kind", "value", "status", "office", "restricted", "referred_conduct", "referred_umpd")
_REPORT_KEY_LIST = ", ".join(REPORT_KEY)
_REPORT_UPSERT = f" ON CONFLICT ({_REPORT_KEY_LIST}) DO UPDATE SET cases = report_tallies.cases + excluded.cases"
DROP_EMPTY_REPORTS = "DELETE FROM report_tallies WHERE cases = 0"
_WEEK = {
    "sqlite": "date({row}.created_at, 'weekday 0', '-6 days')",
    "postgresql": "CAST(date_trunc('week', {row}.created_at) AS date)",
}
_MOVED = "AFTER UPDATE OF status, office, restricted, created_at ON cases"


def _report_key(row: str, dialect: str, kind: str, value: str, referred: dict[str, str] | None = None) -> str:
    """The report tally key of the part `value` (SQL) of kind `kind` of the case `row`."""
    flags = _flags(row, referred)
    return (
        f"{_WEEK[dialect].format(row=row)}, '{kind}', {value}, {row}.status, {row}.office, {row}.restricted, "
        f"{flags['conduct']}, {flags['umpd']}"
    )


def _sqlite_report_add(key: str, amount: int, source: str) -> str:
    return f"INSERT INTO report_tallies ({_REPORT_KEY_LIST}, cases) SELECT {key}, {amount}{source}{_REPORT_UPSERT};"


def _sqlite_parts_of(row: str, amount: int, referred: dict[str, str] | None = None, joined: str | None = None) -> str:
    """Add `amount` to the tallies of every part of the case `row`, or with `joined` (a referral's NEW or OLD) of
    the case c it names."""
    statements = []
    for kind, table in PARTS.items():
        key = _report_key(row, "sqlite", kind, f"p.{kind}", referred)
        source = (
            f" FROM cases c JOIN {table} p ON p.case_id = c.id WHERE c.id = {joined}.case_id"
            if joined
            else f" FROM {table} p WHERE p.case_id = {row}.id"
        )
        statements.append(_sqlite_report_add(key, amount, source))
    if amount < 0:
        statements.append(f"{DROP_EMPTY_REPORTS};")
    return " ".join(statements)


def _sqlite_report_triggers() -> dict[str, str]:
    triggers = {
        "report_tallies_cases_upd": f"{_MOVED} BEGIN {_sqlite_parts_of('OLD', -1)} {_sqlite_parts_of('NEW', 1)} END",
        "report_tallies_cases_del": f"BEFORE DELETE ON cases BEGIN {_sqlite_parts_of('OLD', -1)} END",
    }
    for kind, table in PARTS.items():
        add, leave = (
            _sqlite_report_add(
                _report_key("c", "sqlite", kind, f"{row}.{kind}"), amount, f" FROM cases c WHERE c.id = {row}.case_id"
            )
            for row, amount in (("NEW", 1), ("OLD", -1))
        )
        triggers[f"report_tallies_{table}_ins"] = f"AFTER INSERT ON {table} BEGIN {add} END"
        triggers[f"report_tallies_{table}_upd"] = (
            f"AFTER UPDATE OF case_id, {kind} ON {table} BEGIN {leave} {DROP_EMPTY_REPORTS}; {add} END"
        )
        triggers[f"report_tallies_{table}_del"] = f"AFTER DELETE ON {table} BEGIN {leave} {DROP_EMPTY_REPORTS}; END"
    for office in REFERRAL_OFFICES:
        for event, row, was, but in (("INSERT", "NEW", "0", " AND r.id <> NEW.id"), ("DELETE", "OLD", "1", "")):
            triggers[f"report_tallies_{office}_{event.lower()[:3]}"] = (
                f"AFTER {event} ON referrals WHEN {row}.office = '{office}' "
                f"AND NOT EXISTS ({_OTHER_REFERRALS.format(row=row, but=but)}) BEGIN "
                f"{_sqlite_parts_of('c', -1, {office: was}, joined=row)} {_sqlite_parts_of('c', 1, joined=row)} END"
            )
    return triggers


SQLITE_REPORT_TRIGGERS = _sqlite_report_triggers()

_PG_PARTS_OF_MOVED = " UNION ALL ".join(
    f"SELECT '{kind}' AS kind, {kind} AS value FROM {table} WHERE case_id = moved" for kind, table in PARTS.items()
)
PG_REPORT_FUNCTIONS = [
    "CREATE TYPE report_tally_scope AS (week date, status varchar(32), office varchar(16), restricted boolean, "
    "referred_conduct boolean, referred_umpd boolean)",
    "CREATE FUNCTION report_tally_scope(c cases) RETURNS report_tally_scope LANGUAGE sql STABLE AS $$ SELECT ROW("
    f"{_WEEK['postgresql'].format(row='c')}, c.status, c.office, c.restricted, "
    f"{_flags('c')['conduct']}, {_flags('c')['umpd']})::report_tally_scope $$",
    "CREATE FUNCTION report_tallies_add(s report_tally_scope, part_kind varchar, part_value varchar, amount integer) "
    f"RETURNS void LANGUAGE sql AS $$ INSERT INTO report_tallies ({_REPORT_KEY_LIST}, cases) SELECT (s).week, "
    "part_kind, part_value, (s).status, (s).office, (s).restricted, (s).referred_conduct, (s).referred_umpd, "
    f"amount{_REPORT_UPSERT} $$",
    # Every part of the case `moved` from one scope to another (either may be NULL). The audit append lock first,
    # as for the case tallies (see the module's docstring).
    "CREATE FUNCTION report_tallies_move(moved integer, leaving report_tally_scope, joining report_tally_scope) "
    "RETURNS void LANGUAGE plpgsql AS $$ DECLARE part record; BEGIN "
    "IF leaving IS NOT DISTINCT FROM joining THEN RETURN; END IF; "
    f"PERFORM pg_advisory_xact_lock({PG_AUDIT_LOCK_KEY}); "
    f"FOR part IN {_PG_PARTS_OF_MOVED} LOOP "
    "IF leaving IS NOT NULL THEN PERFORM report_tallies_add(leaving, part.kind, part.value, -1); END IF; "
    "IF joining IS NOT NULL THEN PERFORM report_tallies_add(joining, part.kind, part.value, 1); END IF; "
    f"END LOOP; {DROP_EMPTY_REPORTS}; END $$",
    # Returns OLD: a BEFORE DELETE trigger must, to let the delete go on (an AFTER trigger's result is ignored).
    "CREATE FUNCTION report_tallies_on_case() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'UPDATE' THEN PERFORM report_tallies_move(NEW.id, report_tally_scope(OLD), report_tally_scope(NEW)); "
    "ELSE PERFORM report_tallies_move(OLD.id, report_tally_scope(OLD), NULL); END IF; RETURN OLD; END $$",
    # A platform or behaviour (TG_ARGV[0], also the name of its value column) written or deleted; a part deleted
    # with its case has no case left to count it against (the case took its parts out before it went).
    "CREATE FUNCTION report_tallies_on_part() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE c cases; BEGIN "
    f"PERFORM pg_advisory_xact_lock({PG_AUDIT_LOCK_KEY}); "
    "IF TG_OP <> 'INSERT' THEN SELECT * INTO c FROM cases WHERE id = OLD.case_id; IF FOUND THEN "
    "PERFORM report_tallies_add(report_tally_scope(c), TG_ARGV[0], to_jsonb(OLD) ->> TG_ARGV[0], -1); "
    f"{DROP_EMPTY_REPORTS}; END IF; END IF; "
    "IF TG_OP <> 'DELETE' THEN SELECT * INTO c FROM cases WHERE id = NEW.case_id; IF FOUND THEN "
    "PERFORM report_tallies_add(report_tally_scope(c), TG_ARGV[0], to_jsonb(NEW) ->> TG_ARGV[0], 1); END IF; "
    "END IF; RETURN NULL; END $$",
    # A case's first referral to Conduct or UMPD, or the deletion of its last one, moves its parts.
    "CREATE FUNCTION report_tallies_on_referral() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "DECLARE r referrals; c cases; after report_tally_scope; before report_tally_scope; BEGIN "
    "IF TG_OP = 'INSERT' THEN r := NEW; ELSE r := OLD; END IF; "
    "IF r.office NOT IN ('conduct', 'umpd') OR EXISTS (SELECT 1 FROM referrals x WHERE x.case_id = r.case_id "
    "AND x.office = r.office AND x.id <> r.id) THEN RETURN NULL; END IF; "
    "SELECT * INTO c FROM cases WHERE id = r.case_id; IF NOT FOUND THEN RETURN NULL; END IF; "
    "after := report_tally_scope(c); before := after; "
    "IF r.office = 'conduct' THEN before.referred_conduct := TG_OP = 'DELETE'; "
    "ELSE before.referred_umpd := TG_OP = 'DELETE'; END IF; "
    "PERFORM report_tallies_move(c.id, before, after); RETURN NULL; END $$",
]
PG_REPORT_TRIGGERS = {
    "report_tallies_cases": f"{_MOVED} FOR EACH ROW EXECUTE FUNCTION report_tallies_on_case()",
    "report_tallies_cases_del": "BEFORE DELETE ON cases FOR EACH ROW EXECUTE FUNCTION report_tallies_on_case()",
    **{
        f"report_tallies_{table}": f"AFTER INSERT OR DELETE OR UPDATE OF case_id, {kind} ON {table} FOR EACH ROW "
        f"EXECUTE FUNCTION report_tallies_on_part('{kind}')"
        for kind, table in PARTS.items()
    },
    "report_tallies_referrals": "AFTER INSERT OR DELETE ON referrals FOR EACH ROW "
    "EXECUTE FUNCTION report_tallies_on_referral()",
}
PG_REPORT_DROP_FUNCTIONS = [
    "DROP FUNCTION report_tallies_on_referral()",
    "DROP FUNCTION report_tallies_on_part()",
    "DROP FUNCTION report_tallies_on_case()",
    "DROP FUNCTION report_tallies_move(integer, report_tally_scope, report_tally_scope)",
    "DROP FUNCTION report_tallies_add(report_tally_scope, varchar, varchar, integer)",
    "DROP FUNCTION report_tally_scope(cases)",
    "DROP TYPE report_tally_scope",
]


def report_recount_statements(dialect: str) -> list[str]:
    return ["DELETE FROM report_tallies"] + [
        f"INSERT INTO report_tallies ({_REPORT_KEY_LIST}, cases) SELECT "
        f"{_report_key('c', dialect, kind, f'p.{kind}')}, count(*) "
        f"FROM {table} p JOIN cases c ON c.id = p.case_id GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"
        for kind, table in PARTS.items()
    ]


def _created(triggers: dict[str, str]) -> list[str]:
    return [f"CREATE TRIGGER {name} {body}" for name, body in triggers.items()]


def trigger_statements(dialect: str) -> list[str]:
    """CREATE TRIGGER statements that keep the case tallies in step."""
    return _created(PG_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS)


def report_trigger_statements(dialect: str) -> list[str]:
    """CREATE TRIGGER statements that keep the report tallies in step."""
    return _created(PG_REPORT_TRIGGERS if dialect == "postgresql" else SQLITE_REPORT_TRIGGERS)


def drop_trigger_statements(dialect: str) -> list[str]:
    """DROP TRIGGER statements for the triggers of both kinds of tally."""
    if dialect == "postgresql":
        triggers = {**PG_TRIGGERS, **PG_REPORT_TRIGGERS}
        return [f"DROP TRIGGER {name} ON {body.split(' ON ')[1].split()[0]}" for name, body in triggers.items()]
    return [f"DROP TRIGGER {name}" for name in {**SQLITE_TRIGGERS, **SQLITE_REPORT_TRIGGERS}]


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
    for statement in trigger_statements(_dialect(session)) + report_trigger_statements(_dialect(session)):
        session.execute(text(statement))


def recount(session: Session | None = None) -> tuple[int, int]:
    """Rebuild every tally of both kinds from the cases; returns how many case and report tallies there are."""
    session = session or db.session
    session.flush()
    for statement in recount_statements(_dialect(session)) + report_recount_statements(_dialect(session)):
        session.execute(text(statement))
    return (
        session.scalar(text("SELECT count(*) FROM case_tallies")),
        session.scalar(text("SELECT count(*) FROM report_tallies")),
    )
