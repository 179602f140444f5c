# ruff: noqa: S608 - the SQL here is assembled from constants of this module only; user text is always bound.
"""Full-text search over a case's narrative, its parties' names and handles, and its notes.

One interface, two engines:

- SQLite: an FTS5 table `case_search` whose rowid is the case id, with four columns: `body`
  (narrative, party names and handles, notes shared with every office) and one column per
  office for that office's internal notes (`notes_eoa`, `notes_conduct`, `notes_umpd`).
- PostgreSQL: a table `case_search(case_id, document tsvector)` with a GIN index; the same four
  parts are weighted A (body), B (EOA notes), C (Conduct notes), D (UMPD notes).

A user's text search only looks at the parts they may read: the body, plus the internal notes
of their own office (auditors: every part; administrators never search text).

The index is kept in step by SQL triggers on `cases` (narrative), `parties` and `notes`, so
whichever service writes a case, the index follows in the same transaction without any call.
`reindex_case(case_id)` and `reindex_all()` rebuild by hand (`flask search reindex`); the demo
seeder suspends the triggers for its bulk load and rebuilds the new range in bulk SQL at the end.
The migration 0004 holds a frozen copy of the same statements; a test checks they agree.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import ColumnElement, Select, column, table, text
from sqlalchemy.orm import Session

from casework.extensions import db
from casework.models import Case, User

SEARCH_OBJECTS = ("case_search",)  # tables and their FTS5 shadow tables that the models do not describe
NOTE_OFFICES = ("eoa", "conduct", "umpd")
PG_WEIGHTS = {"body": "A", "eoa": "B", "conduct": "C", "umpd": "D"}
MAX_TERMS = 8
BULK_ROWS = 10_000  # from this many cases on, a PostgreSQL rebuild drops and recreates the GIN index
DRIVE_BY_SORT_FROM = 1000  # on SQLite, from this many counted matches on, a sorted page walks the sort index
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
SEARCH_TABLE = table("case_search", column("rowid"), column("case_id"))  # for joins (SQLite: rowid is the case id)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic hook: the search index is built by hand-written SQL, not by the models."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not (table or "").startswith(SEARCH_OBJECTS)


# --- the SQL that builds one case's document --------------------------------------------------

_SQLITE_PARTIES = (
    "(SELECT group_concat(coalesce(p.name, '') || ' ' || coalesce(p.handle, '') || ' ' "
    "|| coalesce(p.handle_normalized, ''), ' ') FROM parties p WHERE p.case_id = c.id)"
)


def _sqlite_notes(where: str) -> str:
    return f"(SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND {where})"


SQLITE_DOCUMENT = (
    "SELECT c.id, c.narrative || ' ' || coalesce({parties}, '') || ' ' || coalesce({shared}, ''), "
    "{eoa}, {conduct}, {umpd} FROM cases c".format(
        parties=_SQLITE_PARTIES,
        shared=_sqlite_notes("n.visibility = 'shared'"),
        **{o: _sqlite_notes(f"n.visibility = 'office' AND n.office = '{o}'") for o in NOTE_OFFICES},
    )
)
SQLITE_INSERT = "INSERT INTO case_search (rowid, body, notes_eoa, notes_conduct, notes_umpd) "


def _sqlite_refresh(case_id: str) -> str:
    return f"DELETE FROM case_search WHERE rowid = {case_id}; {SQLITE_INSERT}{SQLITE_DOCUMENT} WHERE c.id = {case_id};"


SQLITE_TABLE = (
    "CREATE VIRTUAL TABLE case_search USING fts5("
    "body, notes_eoa, notes_conduct, notes_umpd, tokenize = 'porter unicode61 remove_diacritics 2')"
)

SQLITE_TRIGGERS = {
    "case_search_cases_ins": f"AFTER INSERT ON cases BEGIN {_sqlite_refresh('NEW.id')} END",
    "case_search_cases_upd": f"AFTER UPDATE OF narrative ON cases BEGIN {_sqlite_refresh('NEW.id')} END",
    "case_search_cases_del": "AFTER DELETE ON cases BEGIN DELETE FROM case_search WHERE rowid = OLD.id; END",
    "case_search_parties_ins": f"AFTER INSERT ON parties BEGIN {_sqlite_refresh('NEW.case_id')} END",
    "case_search_parties_upd": f"AFTER UPDATE ON parties BEGIN {_sqlite_refresh('NEW.case_id')} END",
    "case_search_parties_del": f"AFTER DELETE ON parties BEGIN {_sqlite_refresh('OLD.case_id')} END",
    "case_search_notes_ins": f"AFTER INSERT ON notes BEGIN {_sqlite_refresh('NEW.case_id')} END",
    "case_search_notes_upd": f"AFTER UPDATE ON notes BEGIN {_sqlite_refresh('NEW.case_id')} END",
    "case_search_notes_del": f"AFTER DELETE ON notes BEGIN {_sqlite_refresh('OLD.case_id')} END",
}


def _pg_notes(office: str | None) -> str:
    where = "visibility = 'shared'" if office is None else f"visibility = 'office' AND office = '{office}'"
    return f"string_agg(body, ' ') FILTER (WHERE {where})"


PG_DOCUMENT = (
    "SELECT c.id, "
    "setweight(to_tsvector('english', c.narrative || ' ' || coalesce(p.txt, '') || ' ' || coalesce(n.shared, '')), 'A')"
    " || setweight(to_tsvector('english', coalesce(n.eoa, '')), 'B')"
    " || setweight(to_tsvector('english', coalesce(n.conduct, '')), 'C')"
    " || setweight(to_tsvector('english', coalesce(n.umpd, '')), 'D') "
    "FROM cases c "
    "LEFT JOIN LATERAL (SELECT string_agg(concat_ws(' ', name, handle, handle_normalized), ' ') AS txt "
    "FROM parties WHERE parties.case_id = c.id) p ON true "
    "LEFT JOIN LATERAL (SELECT {shared} AS shared, {eoa} AS eoa, {conduct} AS conduct, {umpd} AS umpd "
    "FROM notes WHERE notes.case_id = c.id) n ON true".format(
        shared=_pg_notes(None), **{o: _pg_notes(o) for o in NOTE_OFFICES}
    )
)
PG_UPSERT_TAIL = " ON CONFLICT (case_id) DO UPDATE SET document = EXCLUDED.document"

PG_CREATE = [
    "CREATE TABLE case_search (case_id integer PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE, "
    "document tsvector NOT NULL)",
    "CREATE INDEX ix_case_search_document ON case_search USING gin (document)",
    "CREATE FUNCTION case_search_refresh(target integer) RETURNS void LANGUAGE sql AS $$ "
    f"INSERT INTO case_search (case_id, document) {PG_DOCUMENT} WHERE c.id = target{PG_UPSERT_TAIL} $$",
    "CREATE FUNCTION case_search_on_case() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN PERFORM case_search_refresh(NEW.id); RETURN NULL; END $$",
    "CREATE FUNCTION case_search_on_part() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP <> 'INSERT' THEN PERFORM case_search_refresh(OLD.case_id); END IF; "
    "IF TG_OP <> 'DELETE' THEN PERFORM case_search_refresh(NEW.case_id); END IF; RETURN NULL; END $$",
]
PG_TRIGGERS = {
    "case_search_cases": "AFTER INSERT OR UPDATE OF narrative ON cases FOR EACH ROW "
    "EXECUTE FUNCTION case_search_on_case()",
    "case_search_parties": "AFTER INSERT OR UPDATE OR DELETE ON parties FOR EACH ROW "
    "EXECUTE FUNCTION case_search_on_part()",
    "case_search_notes": "AFTER INSERT OR UPDATE OR DELETE ON notes FOR EACH ROW "
    "EXECUTE FUNCTION case_search_on_part()",
}


def trigger_statements(dialect: str) -> list[str]:
    """CREATE TRIGGER statements that keep the index in step."""
    if dialect == "postgresql":
        return [f"CREATE TRIGGER {name} {body}" for name, body in PG_TRIGGERS.items()]
    return [f"CREATE TRIGGER {name} {body}" for name, body in SQLITE_TRIGGERS.items()]


def drop_trigger_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP TRIGGER {name} ON {body.split(' ON ')[1].split()[0]}" for name, body in PG_TRIGGERS.items()]
    return [f"DROP TRIGGER {name}" for name in SQLITE_TRIGGERS]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


@contextmanager
def triggers_suspended(session: Session | None = None):
    """For bulk loads: drop the triggers, and put them back (same transaction) afterwards."""
    session = session or db.session
    dialect = _dialect(session)
    for statement in drop_trigger_statements(dialect):
        session.execute(text(statement))
    yield
    for statement in trigger_statements(dialect):
        session.execute(text(statement))


# --- rebuilding --------------------------------------------------------------------------------


def reindex_case(case_id: int, session: Session | None = None) -> None:
    """Rebuild one case's entry (the triggers normally do this)."""
    session = session or db.session
    session.flush()
    if _dialect(session) == "postgresql":
        session.execute(text("SELECT case_search_refresh(:id)"), {"id": case_id})
    else:
        session.execute(text("DELETE FROM case_search WHERE rowid = :id"), {"id": case_id})
        session.execute(text(f"{SQLITE_INSERT}{SQLITE_DOCUMENT} WHERE c.id = :id"), {"id": case_id})


def reindex_all(session: Session | None = None, *, from_id: int = 0) -> int:
    """Rebuild the index for every case with id >= from_id, in bulk SQL; returns the cases indexed."""
    session = session or db.session
    session.flush()
    params = {"from_id": from_id}
    if _dialect(session) == "postgresql":
        session.execute(text("DELETE FROM case_search WHERE case_id >= :from_id"), params)
        many = session.scalar(text("SELECT count(*) FROM cases WHERE id >= :from_id"), params) >= BULK_ROWS
        if many:  # building a GIN index once is far quicker than growing it row by row
            session.execute(text("DROP INDEX ix_case_search_document"))
        result = session.execute(
            text(f"INSERT INTO case_search (case_id, document) {PG_DOCUMENT} WHERE c.id >= :from_id"), params
        )
        if many:
            session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            session.execute(text(PG_CREATE[1]))
        return result.rowcount
    if from_id <= 0:
        session.execute(text("DELETE FROM case_search"))
    else:
        session.execute(text("DELETE FROM case_search WHERE rowid >= :from_id"), params)
    # Grouped subqueries in one pass, rather than a correlated subquery per case.
    notes = ", ".join(
        f"group_concat(CASE WHEN visibility = 'office' AND office = '{o}' THEN body END, ' ') AS {o}"
        for o in NOTE_OFFICES
    )
    result = session.execute(
        text(
            f"{SQLITE_INSERT}SELECT c.id, c.narrative || ' ' || coalesce(p.txt, '') || ' ' || coalesce(n.shared, ''), "
            "n.eoa, n.conduct, n.umpd FROM cases c "
            "LEFT JOIN (SELECT case_id, group_concat(coalesce(name, '') || ' ' || coalesce(handle, '') || ' ' "
            "|| coalesce(handle_normalized, ''), ' ') AS txt FROM parties WHERE case_id >= :from_id "
            "GROUP BY case_id) p ON p.case_id = c.id "
            "LEFT JOIN (SELECT case_id, group_concat(CASE WHEN visibility = 'shared' THEN body END, ' ') AS shared, "
            f"{notes} FROM notes WHERE case_id >= :from_id GROUP BY case_id) n ON n.case_id = c.id "
            "WHERE c.id >= :from_id"
        ),
        params,
    )
    return result.rowcount


# --- querying ----------------------------------------------------------------------------------


def terms(query: str) -> list[str]:
    """The words of a search, as the index splits them (at most MAX_TERMS)."""
    return _TOKEN.findall(query or "")[:MAX_TERMS]


def searchable_parts(user: User) -> tuple[str, ...]:
    """Which parts of the index a user's text search may look at."""
    if user.role == "auditor":
        return ("body", *NOTE_OFFICES)
    office = user.case_office
    return ("body", office) if office in NOTE_OFFICES else ("body",)


def _engine_query(user: User, query: str, dialect: str) -> tuple[str, dict[str, str]] | None:
    """The engine's condition on `case_search` for the words of `query` in the parts `user` may read,
    and its bound parameter; None when the query has no words."""
    words = [w.lower() for w in terms(query)]
    if not words:
        return None
    parts = searchable_parts(user)
    if dialect == "postgresql":
        weights = "".join(PG_WEIGHTS[p] for p in parts)
        tsquery = " & ".join(f"{w}:{weights}" for w in words)
        return "case_search.document @@ to_tsquery('english', :cw_query)", {"cw_query": tsquery}
    columns = " ".join("body" if p == "body" else f"notes_{p}" for p in parts)
    fts = "{" + columns + "} : (" + " AND ".join(f'"{w}"' for w in words) + ")"
    return "case_search MATCH :cw_query", {"cw_query": fts}


def match_clause(user: User, query: str, dialect: str, *, common: bool = False) -> ColumnElement[bool] | None:
    """A condition on Case.id selecting the cases whose readable text holds every word of `query`.

    None when the query has no words. Words match after English stemming ("threatened" finds
    "threatening"), not as prefixes: on a million cases a prefix of a common word costs tens of
    milliseconds on FTS5, an exact term a few.
    """
    engine_query = _engine_query(user, query, dialect)
    if engine_query is None:
        return None
    condition, params = engine_query
    key = "case_id" if dialect == "postgresql" else "rowid"
    matches = text(f"SELECT {key} FROM case_search WHERE {condition}").bindparams(**params)
    # SQLite drives the query from the IN list whenever it can. That is right for a rare word (a few
    # cases, sorted in memory) but slow for a common one on a sorted page (thousands of random row reads,
    # then a sort): there the caller, who has counted the matches, says `common`, and `id + 0` keeps the
    # rowid index out of reach, so SQLite walks the sort index, probing the list.
    column = (Case.id + 0) if common and dialect == "sqlite" else Case.id
    return column.in_(matches)


def join_matches(stmt: Select, user: User, query: str, dialect: str) -> Select:
    """`stmt` (over Case) joined to the index and kept to the cases whose readable text holds every word.

    Unlike match_clause's list, a join lets the engine read the index lazily: a capped count of a common
    word stops after its cap instead of collecting every match first. `stmt` unchanged without words.
    """
    engine_query = _engine_query(user, query, dialect)
    if engine_query is None:
        return stmt
    condition, params = engine_query
    key = SEARCH_TABLE.c.case_id if dialect == "postgresql" else SEARCH_TABLE.c.rowid
    return stmt.join(SEARCH_TABLE, key == Case.id).where(text(condition).bindparams(**params))
