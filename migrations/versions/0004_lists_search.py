"""Queues at scale: indexes for every filter and sort of the case list, and the full-text search index.

The search index is hand-written SQL (an FTS5 table on SQLite, a tsvector table with a GIN index on
PostgreSQL) kept in step by triggers; it is not described by the models, so migrations/env.py and the
models-agree test leave it out (casework.search.include_object). The statements below are a frozen copy
of those in casework/search.py at this revision; tests/test_search.py checks they still agree.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEXES = [
    ("cases", "ix_cases_due", ["due_on", "id"]),
    ("cases", "ix_cases_assignee_created", ["assignee_id", "created_at", "id"]),
    ("cases", "ix_cases_risk_created", ["risk_level", "created_at", "id"]),
    ("cases", "ix_cases_urgent_created", ["urgent", "created_at", "id"]),
    ("cases", "ix_cases_disposition_created", ["disposition", "created_at", "id"]),
    ("cases", "ix_cases_status_office_due", ["status", "office", "due_on", "restricted", "assignee_id", "id"]),
    ("case_events", "ix_case_events_to_state_created", ["to_state", "created_at"]),
]

SQLITE_CREATE = [
    "CREATE VIRTUAL TABLE case_search USING fts5(body, notes_eoa, notes_conduct, notes_umpd, tokenize = 'porter "
    "unicode61 remove_diacritics 2')"
]

SQLITE_TRIGGERS = [
    "CREATE TRIGGER case_search_cases_ins AFTER INSERT ON cases BEGIN DELETE FROM case_search WHERE rowid = NEW.id; "
    "INSERT INTO case_search (rowid, body, notes_eoa, notes_conduct, notes_umpd) SELECT c.id, c.narrative || ' ' || "
    "coalesce((SELECT group_concat(coalesce(p.name, '') || ' ' || coalesce(p.handle, '') || ' ' || "
    "coalesce(p.handle_normalized, ''), ' ') FROM parties p WHERE p.case_id = c.id), '') || ' ' || coalesce((SELECT "
    "group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'shared'), ''), (SELECT "
    "group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'office' AND n.office = "
    "'eoa'), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'office' AND "
    "n.office = 'conduct'), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = "
    "'office' AND n.office = 'umpd') FROM cases c WHERE c.id = NEW.id; END",
    "CREATE TRIGGER case_search_cases_upd AFTER UPDATE OF narrative ON cases BEGIN DELETE FROM case_search WHERE "
    "rowid = NEW.id; INSERT INTO case_search (rowid, body, notes_eoa, notes_conduct, notes_umpd) SELECT c.id, "
    "c.narrative || ' ' || coalesce((SELECT group_concat(coalesce(p.name, '') || ' ' || coalesce(p.handle, '') || ' "
    "' || coalesce(p.handle_normalized, ''), ' ') FROM parties p WHERE p.case_id = c.id), '') || ' ' || "
    "coalesce((SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'shared'), "
    "''), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'office' AND "
    "n.office = 'eoa'), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = "
    "'office' AND n.office = 'conduct'), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND "
    "n.visibility = 'office' AND n.office = 'umpd') FROM cases c WHERE c.id = NEW.id; END",
    "CREATE TRIGGER case_search_cases_del AFTER DELETE ON cases BEGIN DELETE FROM case_search WHERE rowid = OLD.id; "
    "END",
    "CREATE TRIGGER case_search_parties_ins AFTER INSERT ON parties BEGIN DELETE FROM case_search WHERE rowid = "
    "NEW.case_id; INSERT INTO case_search (rowid, body, notes_eoa, notes_conduct, notes_umpd) SELECT c.id, "
    "c.narrative || ' ' || coalesce((SELECT group_concat(coalesce(p.name, '') || ' ' || coalesce(p.handle, '') || ' "
    "' || coalesce(p.handle_normalized, ''), ' ') FROM parties p WHERE p.case_id = c.id), '') || ' ' || "
    "coalesce((SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'shared'), "
    "''), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'office' AND "
    "n.office = 'eoa'), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = "
    "'office' AND n.office = 'conduct'), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND "
    "n.visibility = 'office' AND n.office = 'umpd') FROM cases c WHERE c.id = NEW.case_id; END",
    "CREATE TRIGGER case_search_parties_upd AFTER UPDATE ON parties BEGIN DELETE FROM case_search WHERE rowid = "
    "NEW.case_id; INSERT INTO case_search (rowid, body, notes_eoa, notes_conduct, notes_umpd) SELECT c.id, "
    "c.narrative || ' ' || coalesce((SELECT group_concat(coalesce(p.name, '') || ' ' || coalesce(p.handle, '') || ' "
    "' || coalesce(p.handle_normalized, ''), ' ') FROM parties p WHERE p.case_id = c.id), '') || ' ' || "
    "coalesce((SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'shared'), "
    "''), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'office' AND "
    "n.office = 'eoa'), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = "
    "'office' AND n.office = 'conduct'), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND "
    "n.visibility = 'office' AND n.office = 'umpd') FROM cases c WHERE c.id = NEW.case_id; END",
    "CREATE TRIGGER case_search_parties_del AFTER DELETE ON parties BEGIN DELETE FROM case_search WHERE rowid = "
    "OLD.case_id; INSERT INTO case_search (rowid, body, notes_eoa, notes_conduct, notes_umpd) SELECT c.id, "
    "c.narrative || ' ' || coalesce((SELECT group_concat(coalesce(p.name, '') || ' ' || coalesce(p.handle, '') || ' "
    "' || coalesce(p.handle_normalized, ''), ' ') FROM parties p WHERE p.case_id = c.id), '') || ' ' || "
    "coalesce((SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'shared'), "
    "''), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'office' AND "
    "n.office = 'eoa'), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = "
    "'office' AND n.office = 'conduct'), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND "
    "n.visibility = 'office' AND n.office = 'umpd') FROM cases c WHERE c.id = OLD.case_id; END",
    "CREATE TRIGGER case_search_notes_ins AFTER INSERT ON notes BEGIN DELETE FROM case_search WHERE rowid = "
    "NEW.case_id; INSERT INTO case_search (rowid, body, notes_eoa, notes_conduct, notes_umpd) SELECT c.id, "
    "c.narrative || ' ' || coalesce((SELECT group_concat(coalesce(p.name, '') || ' ' || coalesce(p.handle, '') || ' "
    "' || coalesce(p.handle_normalized, ''), ' ') FROM parties p WHERE p.case_id = c.id), '') || ' ' || "
    "coalesce((SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'shared'), "
    "''), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'office' AND "
    "n.office = 'eoa'), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = "
    "'office' AND n.office = 'conduct'), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND "
    "n.visibility = 'office' AND n.office = 'umpd') FROM cases c WHERE c.id = NEW.case_id; END",
    "CREATE TRIGGER case_search_notes_upd AFTER UPDATE ON notes BEGIN DELETE FROM case_search WHERE rowid = "
    "NEW.case_id; INSERT INTO case_search (rowid, body, notes_eoa, notes_conduct, notes_umpd) SELECT c.id, "
    "c.narrative || ' ' || coalesce((SELECT group_concat(coalesce(p.name, '') || ' ' || coalesce(p.handle, '') || ' "
    "' || coalesce(p.handle_normalized, ''), ' ') FROM parties p WHERE p.case_id = c.id), '') || ' ' || "
    "coalesce((SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'shared'), "
    "''), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'office' AND "
    "n.office = 'eoa'), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = "
    "'office' AND n.office = 'conduct'), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND "
    "n.visibility = 'office' AND n.office = 'umpd') FROM cases c WHERE c.id = NEW.case_id; END",
    "CREATE TRIGGER case_search_notes_del AFTER DELETE ON notes BEGIN DELETE FROM case_search WHERE rowid = "
    "OLD.case_id; INSERT INTO case_search (rowid, body, notes_eoa, notes_conduct, notes_umpd) SELECT c.id, "
    "c.narrative || ' ' || coalesce((SELECT group_concat(coalesce(p.name, '') || ' ' || coalesce(p.handle, '') || ' "
    "' || coalesce(p.handle_normalized, ''), ' ') FROM parties p WHERE p.case_id = c.id), '') || ' ' || "
    "coalesce((SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'shared'), "
    "''), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'office' AND "
    "n.office = 'eoa'), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = "
    "'office' AND n.office = 'conduct'), (SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND "
    "n.visibility = 'office' AND n.office = 'umpd') FROM cases c WHERE c.id = OLD.case_id; END",
]

PG_CREATE = [
    "CREATE TABLE case_search (case_id integer PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE, document "
    "tsvector NOT NULL)",
    "CREATE INDEX ix_case_search_document ON case_search USING gin (document)",
    "CREATE FUNCTION case_search_refresh(target integer) RETURNS void LANGUAGE sql AS $$ INSERT INTO case_search "
    "(case_id, document) SELECT c.id, setweight(to_tsvector('english', c.narrative || ' ' || coalesce(p.txt, '') || "
    "' ' || coalesce(n.shared, '')), 'A') || setweight(to_tsvector('english', coalesce(n.eoa, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(n.conduct, '')), 'C') || setweight(to_tsvector('english', "
    "coalesce(n.umpd, '')), 'D') FROM cases c LEFT JOIN LATERAL (SELECT string_agg(concat_ws(' ', name, handle, "
    "handle_normalized), ' ') AS txt FROM parties WHERE parties.case_id = c.id) p ON true LEFT JOIN LATERAL (SELECT "
    "string_agg(body, ' ') FILTER (WHERE visibility = 'shared') AS shared, string_agg(body, ' ') FILTER (WHERE "
    "visibility = 'office' AND office = 'eoa') AS eoa, string_agg(body, ' ') FILTER (WHERE visibility = 'office' AND "
    "office = 'conduct') AS conduct, string_agg(body, ' ') FILTER (WHERE visibility = 'office' AND office = 'umpd') "
    "AS umpd FROM notes WHERE notes.case_id = c.id) n ON true WHERE c.id = target ON CONFLICT (case_id) DO UPDATE "
    "SET document = EXCLUDED.document $$",
    "CREATE FUNCTION case_search_on_case() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM "
    "case_search_refresh(NEW.id); RETURN NULL; END $$",
    "CREATE FUNCTION case_search_on_part() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'INSERT' THEN "
    "PERFORM case_search_refresh(OLD.case_id); END IF; IF TG_OP <> 'DELETE' THEN PERFORM "
    "case_search_refresh(NEW.case_id); END IF; RETURN NULL; END $$",
]

PG_TRIGGERS = [
    "CREATE TRIGGER case_search_cases AFTER INSERT OR UPDATE OF narrative ON cases FOR EACH ROW EXECUTE FUNCTION "
    "case_search_on_case()",
    "CREATE TRIGGER case_search_parties AFTER INSERT OR UPDATE OR DELETE ON parties FOR EACH ROW EXECUTE FUNCTION "
    "case_search_on_part()",
    "CREATE TRIGGER case_search_notes AFTER INSERT OR UPDATE OR DELETE ON notes FOR EACH ROW EXECUTE FUNCTION "
    "case_search_on_part()",
]

SQLITE_BUILD = (
    "INSERT INTO case_search (rowid, body, notes_eoa, notes_conduct, notes_umpd) "
    "SELECT c.id, c.narrative || ' ' || coalesce((SELECT group_concat(coalesce(p.name, '') || ' ' "
    "|| coalesce(p.handle, '') || ' ' || coalesce(p.handle_normalized, ''), ' ') FROM parties p "
    "WHERE p.case_id = c.id), '') || ' ' || coalesce((SELECT group_concat(n.body, ' ') FROM notes n "
    "WHERE n.case_id = c.id AND n.visibility = 'shared'), ''), "
    "(SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'office' AND n.office = 'eoa'), "
    "(SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'office' "
    "AND n.office = 'conduct'), "
    "(SELECT group_concat(n.body, ' ') FROM notes n WHERE n.case_id = c.id AND n.visibility = 'office' "
    "AND n.office = 'umpd') FROM cases c"
)
PG_BUILD = "SELECT case_search_refresh(id) FROM cases"


def upgrade():
    op.drop_index("ix_cases_due_on", table_name="cases")
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    if op.get_bind().dialect.name == "postgresql":
        statements = PG_CREATE + PG_TRIGGERS + [PG_BUILD]
    else:
        statements = SQLITE_CREATE + SQLITE_TRIGGERS + [SQLITE_BUILD]
    for statement in statements:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, table in (
            ("case_search_cases", "cases"),
            ("case_search_parties", "parties"),
            ("case_search_notes", "notes"),
        ):
            op.execute(f"DROP TRIGGER {name} ON {table}")
        for function in ("case_search_on_part()", "case_search_on_case()", "case_search_refresh(integer)"):
            op.execute(f"DROP FUNCTION {function}")
        op.execute("DROP TABLE case_search")
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute("DROP TRIGGER " + statement.split()[2])
        op.execute("DROP TABLE case_search")
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.create_index("ix_cases_due_on", "cases", ["due_on"], unique=False)
