# ruff: noqa: S608 - the SQL here is assembled from constants of this module only; user text is always bound.
"""Full-text search over a case's narrative, its parties' names and handles, and its notes.

One interface, two engines:

- SQLite: an FTS5 table `case_search` whose rowid is the case id, with four columns: `body`
  (narrative, party names and handles, notes shared with every office) and one column per
  office for that office's internal notes (`notes_eoa`, `notes_conduct`, `notes_umpd`).
- PostgreSQL: a table `case_search(case_id, <the case's list columns>, document tsvector)` with a GIN
  index. The document holds no weights (a weighted query makes GIN recheck every match): the body's words
  are plain lexemes and each office's internal notes are lexemes in that office's namespace ('eoa threat'),
  so a search in the body and the EOA notes asks for `('threat' | 'eoa threat')`. Beside the document the
  table keeps a copy of the columns the case list filters and sorts on (INDEX_COLUMNS: created_at, status,
  office, restriction, assignee ...), so a count or a page of a text search reads the index table alone and
  visits only the cases it shows (over_index).

A user's text search only looks at the parts they may read: the body, plus the internal notes
of their own office (auditors: every part; administrators never search text). The conditions built here never
hold the words searched for: they take them as the parameter WORDS when their statement runs
(words_parameter), so a search's statements can be kept and reused without keeping any search text.

The index is kept in step by SQL triggers on `cases` (narrative; on PostgreSQL also the copied columns),
`parties` and `notes`, so
whichever service writes a case, the index follows in the same transaction without any call.
`reindex_case(case_id)` and `reindex_all()` rebuild by hand (`flask search reindex`); the demo
seeder suspends the triggers for its bulk load and rebuilds the new range in bulk SQL at the end.
The migrations 0004 (SQLite) and 0007 (PostgreSQL) hold frozen copies of the same statements; a test checks
they agree.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    TextClause,
    bindparam,
    column,
    exists,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors
from sqlalchemy.sql.expression import ColumnClause

from casework.extensions import db
from casework.models import Case, Referral, User
from casework.models.case import REFERRAL_OFFICES

SEARCH_OBJECTS = ("case_search",)  # tables and their FTS5 shadow tables that the models do not describe
NOTE_OFFICES = ("eoa", "conduct", "umpd")
PG_WEIGHTS = {"body": "A", "eoa": "B", "conduct": "C", "umpd": "D"}
MAX_TERMS = 8
WORDS = "cw_query"  # the parameter that holds a search's words (words_parameter) when its statement runs
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


def _pg_namespaced(office: str) -> str:
    """An office's internal notes as lexemes in that office's namespace ('eoa threat'): no parsed word holds a
    space, so a namespaced lexeme never meets a word of the body."""
    return (
        f"array_to_tsvector(ARRAY(SELECT '{office} ' || lexeme "
        f"FROM unnest(tsvector_to_array(to_tsvector('english', coalesce(n.{office}, '')))) lexeme))"
    )


# The case's columns that the case list filters and sorts on, copied beside the document.
INDEX_COLUMNS = (
    "created_at",
    "status",
    "office",
    "restricted",
    "assignee_id",
    "risk_level",
    "disposition",
    "urgent",
    "due_on",
)
_INDEX_COLUMN_LIST = ", ".join(INDEX_COLUMNS)

PG_DOCUMENT = (
    "SELECT c.id, {columns}, "
    "to_tsvector('english', c.narrative || ' ' || coalesce(p.txt, '') || ' ' || coalesce(n.shared, ''))"
    "{namespaced} "
    "FROM cases c "
    "LEFT JOIN LATERAL (SELECT string_agg(concat_ws(' ', name, handle, handle_normalized), ' ') AS txt "
    "FROM parties WHERE parties.case_id = c.id) p ON true "
    "LEFT JOIN LATERAL (SELECT {shared} AS shared, {eoa} AS eoa, {conduct} AS conduct, {umpd} AS umpd "
    "FROM notes WHERE notes.case_id = c.id) n ON true".format(
        columns=", ".join(f"c.{name}" for name in INDEX_COLUMNS),
        namespaced="".join(f" || {_pg_namespaced(o)}" for o in NOTE_OFFICES),
        shared=_pg_notes(None),
        **{o: _pg_notes(o) for o in NOTE_OFFICES},
    )
)
PG_INSERT = f"INSERT INTO case_search (case_id, {_INDEX_COLUMN_LIST}, document) "
PG_UPSERT_TAIL = (
    f" ON CONFLICT (case_id) DO UPDATE SET ({_INDEX_COLUMN_LIST}, document) = "
    f"({', '.join(f'EXCLUDED.{name}' for name in INDEX_COLUMNS)}, EXCLUDED.document)"
)
_NEW_COLUMNS = ", ".join(f"NEW.{name}" for name in INDEX_COLUMNS)

PG_TABLE = (
    "CREATE TABLE case_search (case_id integer PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE, "
    "created_at timestamp without time zone NOT NULL, status varchar(32) NOT NULL, office varchar(16) NOT NULL, "
    "restricted boolean NOT NULL, assignee_id integer, risk_level varchar(16), disposition varchar(32), "
    "urgent boolean NOT NULL, due_on date, document tsvector NOT NULL)"
)
PG_GIN_INDEX = "CREATE INDEX ix_case_search_document ON case_search USING gin (document)"
# For a common word, a sorted page walks one of these and stops after a page of matches.
PG_SORT_INDEXES = [
    "CREATE INDEX ix_case_search_created ON case_search (created_at, case_id)",
    "CREATE INDEX ix_case_search_due ON case_search (due_on, case_id)",
]
PG_FUNCTIONS = [
    "CREATE FUNCTION case_search_refresh(target integer) RETURNS void LANGUAGE sql AS $$ "
    f"{PG_INSERT}{PG_DOCUMENT} WHERE c.id = target{PG_UPSERT_TAIL} $$",
    # A new case or a new narrative rebuilds the document; any other change only copies the columns.
    "CREATE FUNCTION case_search_on_case() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'INSERT' OR NEW.narrative IS DISTINCT FROM OLD.narrative THEN PERFORM case_search_refresh(NEW.id); "
    f"ELSE UPDATE case_search SET ({_INDEX_COLUMN_LIST}) = ({_NEW_COLUMNS}) WHERE case_id = NEW.id "
    f"AND ({_INDEX_COLUMN_LIST}) IS DISTINCT FROM ({_NEW_COLUMNS}); END IF; RETURN NULL; END $$",
    "CREATE FUNCTION case_search_on_part() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP <> 'INSERT' THEN PERFORM case_search_refresh(OLD.case_id); END IF; "
    "IF TG_OP <> 'DELETE' THEN PERFORM case_search_refresh(NEW.case_id); END IF; RETURN NULL; END $$",
]
PG_CREATE = [PG_TABLE, PG_GIN_INDEX, *PG_SORT_INDEXES, *PG_FUNCTIONS]
PG_TRIGGERS = {
    "case_search_cases": f"AFTER INSERT OR UPDATE OF narrative, {_INDEX_COLUMN_LIST} ON cases FOR EACH ROW "
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
        result = session.execute(text(f"{PG_INSERT}{PG_DOCUMENT} WHERE c.id >= :from_id"), params)
        if many:
            session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            session.execute(text(PG_GIN_INDEX))
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


# A namespaced copy of each lexeme of a tsquery's text: 'threat' -> ('threat' | 'eoa threat').
_LEXEME = r"'((?:[^']|'')*)'"


def _pg_tsquery(parts: tuple[str, ...]) -> str:
    """SQL for the tsquery of the words in the parameter WORDS over the given parts of the document."""
    parsed = f"to_tsquery('english', :{WORDS})"  # stems the words and drops stop words, as the index did
    offices = [p for p in parts if p != "body"]
    if not offices:
        return parsed
    either = " | ".join(["'\\1'", *(f"'{office} \\1'" for office in offices)])
    pattern, replacement = (value.replace("'", "''") for value in (_LEXEME, f"({either})"))
    return f"CAST(regexp_replace(CAST({parsed} AS text), '{pattern}', '{replacement}', 'g') AS tsquery)"


def words_parameter(user: User, query: str, dialect: str) -> dict[str, str]:
    """The words of `query`, as the engine's query over the parts `user` may read: the value of the parameter
    WORDS that every statement with a text condition takes when it runs. Empty when the query has no words.

    The statements themselves never hold the words, so they can be kept and reused (listing.kept_statement)
    without any search text staying in memory."""
    words = [w.lower() for w in terms(query)]
    if not words:
        return {}
    if dialect == "postgresql":
        return {WORDS: " & ".join(words)}
    columns = " ".join("body" if p == "body" else f"notes_{p}" for p in searchable_parts(user))
    return {WORDS: "{" + columns + "} : (" + " AND ".join(f'"{w}"' for w in words) + ")"}


def _engine_condition(user: User, dialect: str) -> str:
    """The engine's condition on `case_search` for the words in the parameter WORDS (on PostgreSQL, in the parts
    `user` may read; on SQLite the parameter names them)."""
    if dialect == "postgresql":
        return f"case_search.document @@ {_pg_tsquery(searchable_parts(user))}"
    return f"case_search MATCH :{WORDS}"


def _with_words(sql: str, *numbers: str) -> TextClause:
    """`sql` with its parameter WORDS (and any `numbers`) declared, to be given when the statement runs."""
    return text(sql).bindparams(bindparam(WORDS, type_=String), *(bindparam(name, type_=Integer) for name in numbers))


def match_clause(user: User, dialect: str, *, common: bool = False, within_ids: bool = False) -> ColumnElement[bool]:
    """A condition on Case.id selecting the cases whose readable text holds every word in the parameter WORDS
    (words_parameter).

    Words match after English stemming ("threatened" finds "threatening"), not as prefixes: on a million cases
    a prefix of a common word costs tens of milliseconds on FTS5, an exact term a few. `within_ids`: only the
    cases whose id lies between the parameters cw_low and cw_high.
    """
    condition = _engine_condition(user, dialect)
    key = "case_id" if dialect == "postgresql" else "rowid"
    bounds = ("cw_low", "cw_high") if within_ids else ()
    if within_ids:
        condition += f" AND {key} BETWEEN :cw_low AND :cw_high"
    matches = _with_words(f"SELECT {key} FROM case_search WHERE {condition}", *bounds)
    # SQLite drives the query from the IN list whenever it can. That is right for a rare word (a few
    # cases, sorted in memory) but slow for a common one on a sorted page (thousands of random row reads,
    # then a sort): there the caller, who has counted the matches, says `common`, and `id + 0` keeps the
    # rowid index out of reach, so SQLite walks the sort index, probing the list.
    column = (Case.id + 0) if common and dialect == "sqlite" else Case.id
    return column.in_(matches)


def plan_for_the_words(session: Session | None = None) -> None:
    """PostgreSQL: plan the rest of this transaction's statements for their values, never as generic plans.

    The driver prepares a statement run often, and PostgreSQL may then plan it once for any tsquery: with the
    selectivity of no word in particular, which for a word in 40% of the cases reads all of them (a count:
    30 ms -> 180 ms). SQLite: nothing to do.
    """
    session = session or db.session
    if _dialect(session) == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def nth_match_id(user: User, query: str, n: int, *, descending: bool, beyond: int | None = None) -> int | None:
    """SQLite: the id of the n-th case (1-based) matching `query`, counted from the highest id down (descending)
    or from the lowest up, starting past `beyond`; None when fewer cases match. FTS5 walks its lists in id
    order and stops there, however common the words."""
    params = words_parameter(user, query, "sqlite")
    if not params:
        return None
    condition = _engine_condition(user, "sqlite")
    if beyond is not None:
        condition += " AND rowid < :cw_beyond" if descending else " AND rowid > :cw_beyond"
        params["cw_beyond"] = beyond
    order = "DESC" if descending else "ASC"
    sql = f"SELECT rowid FROM case_search WHERE {condition} ORDER BY rowid {order} LIMIT 1 OFFSET :cw_skip"
    return db.session.scalar(text(sql), {**params, "cw_skip": n - 1})


def join_matches(stmt: Select, user: User, dialect: str) -> Select:
    """`stmt` (over Case) joined to the index and kept to the cases whose readable text holds every word in the
    parameter WORDS.

    Unlike match_clause's list, a join lets the engine read the index lazily: a capped count of a common
    word stops after its cap instead of collecting every match first.
    On PostgreSQL, `stmt` read from the index table instead, when it can be (over_index).
    """
    if dialect == "postgresql" and (moved := over_index(stmt, user)) is not None:
        return moved  # the index table alone, without visiting each case (see over_index)
    key = SEARCH_TABLE.c.case_id if dialect == "postgresql" else SEARCH_TABLE.c.rowid
    return stmt.join(SEARCH_TABLE, key == Case.id).where(_with_words(_engine_condition(user, dialect)))


# --- PostgreSQL: reading the index table instead of the cases -----------------------------------

INDEX_TABLE = table(
    "case_search",
    column("case_id", Case.__table__.c.id.type),
    *(column(name, Case.__table__.c[name].type) for name in INDEX_COLUMNS),
)


class NotOnIndex(LookupError):
    """The statement uses a column of the case that the index table does not copy."""


def _index_replacer(source):
    """A replacement_traverse function putting `source` (the index table, or a subquery of it) for the cases.

    The referral flags are not copied: on the index table, whether a case was ever referred to an office is
    asked of its referrals (which hold the same: Case.refer).
    """
    referred = {
        f"referred_{office}": exists().where(Referral.case_id == source.c.case_id, Referral.office == office)
        for office in REFERRAL_OFFICES
    }
    columns = {"id": source.c.case_id, **{name: source.c[name] for name in INDEX_COLUMNS}, **referred}

    def replace(element):
        if isinstance(element, Table) and element.name == Case.__tablename__:
            return source
        owner = getattr(element, "table", None)
        if isinstance(element, ColumnClause) and isinstance(owner, Table) and owner.name == Case.__tablename__:
            try:
                return columns[element.name]
            except KeyError:
                raise NotOnIndex(element.name) from None
        return None

    return replace


_TO_INDEX = _index_replacer(INDEX_TABLE)


def over_index(stmt: Select, user: User, *, few: bool = False) -> Select | None:
    """PostgreSQL: `stmt` (over Case, its conditions, order and limit included) read from the index table,
    kept to the cases whose readable text holds every word in the parameter WORDS; None when `stmt` needs a
    column of the case that the index table does not copy.

    The same conditions on the same values (the triggers copy them in the same transaction), so the same
    cases; but the engine sorts or counts the matches without visiting each case, then looks up only those
    it returns. `few`: the caller counted few matches; they are then collected first (GIN) and sorted, never
    looked for along a sort index (which the planner, not knowing a rare word, might walk to its end).
    """
    matched = _with_words(_engine_condition(user, "postgresql"))
    if few:  # OFFSET 0 keeps the planner from merging the matches into the sorted walk
        source = select(INDEX_TABLE).where(matched).offset(0).subquery("case_search_matches")
        replace = _index_replacer(source)
    else:
        replace = _TO_INDEX
    try:
        moved = visitors.replacement_traverse(stmt, {}, replace)
    except NotOnIndex:
        return None
    return moved if few else moved.where(matched)
