"""Search at scale on PostgreSQL: the search index table keeps the case list's columns beside the document, and the
document drops its weights.

A text search used to sort its matches newest-first by looking up every matching case (thousands for a name), and
GIN rechecked each match because weights are not in the index. Now `case_search` holds a copy of the columns the
case list filters and sorts on (created_at, status, office, restricted, assignee_id, risk_level, disposition,
urgent, due_on; the trigger on `cases` keeps them in step), with indexes for the sorts, so a count or a page reads
the index table alone and visits only the cases it shows; and each office's internal notes are namespaced lexemes
('eoa threat') instead of a weight, so GIN answers without a recheck.

SQLite keeps its FTS5 table (migration 0004): nothing changes there.
The statements below are a frozen copy of those in casework/search.py at this revision; tests/reports/test_search.py
checks they still agree.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PG_CREATE = [
    "CREATE TABLE case_search (case_id integer PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE, created_at "
    "timestamp without time zone NOT NULL, status varchar(32) NOT NULL, office varchar(16) NOT NULL, restricted "
    "boolean NOT NULL, assignee_id integer, risk_level varchar(16), disposition varchar(32), urgent boolean NOT "
    "NULL, due_on date, document tsvector NOT NULL)",
    "CREATE INDEX ix_case_search_document ON case_search USING gin (document)",
    "CREATE INDEX ix_case_search_created ON case_search (created_at, case_id)",
    "CREATE INDEX ix_case_search_due ON case_search (due_on, case_id)",
    "CREATE FUNCTION case_search_refresh(target integer) RETURNS void LANGUAGE sql AS $$ INSERT INTO case_search "
    "(case_id, created_at, status, office, restricted, assignee_id, risk_level, disposition, urgent, due_on, "
    "document) SELECT c.id, c.created_at, c.status, c.office, c.restricted, c.assignee_id, c.risk_level, "
    "c.disposition, c.urgent, c.due_on, to_tsvector('english', c.narrative || ' ' || coalesce(p.txt, '') || ' ' "
    "|| coalesce(n.shared, '')) || array_to_tsvector(ARRAY(SELECT 'eoa ' || lexeme FROM "
    "unnest(tsvector_to_array(to_tsvector('english', coalesce(n.eoa, '')))) lexeme)) || "
    "array_to_tsvector(ARRAY(SELECT 'conduct ' || lexeme FROM unnest(tsvector_to_array(to_tsvector('english', "
    "coalesce(n.conduct, '')))) lexeme)) || array_to_tsvector(ARRAY(SELECT 'umpd ' || lexeme FROM "
    "unnest(tsvector_to_array(to_tsvector('english', coalesce(n.umpd, '')))) lexeme)) FROM cases c LEFT JOIN "
    "LATERAL (SELECT string_agg(concat_ws(' ', name, handle, handle_normalized), ' ') AS txt FROM parties WHERE "
    "parties.case_id = c.id) p ON true LEFT JOIN LATERAL (SELECT string_agg(body, ' ') FILTER (WHERE visibility = "
    "'shared') AS shared, string_agg(body, ' ') FILTER (WHERE visibility = 'office' AND office = 'eoa') AS eoa, "
    "string_agg(body, ' ') FILTER (WHERE visibility = 'office' AND office = 'conduct') AS conduct, "
    "string_agg(body, ' ') FILTER (WHERE visibility = 'office' AND office = 'umpd') AS umpd FROM notes WHERE "
    "notes.case_id = c.id) n ON true WHERE c.id = target ON CONFLICT (case_id) DO UPDATE SET (created_at, status, "
    "office, restricted, assignee_id, risk_level, disposition, urgent, due_on, document) = (EXCLUDED.created_at, "
    "EXCLUDED.status, EXCLUDED.office, EXCLUDED.restricted, EXCLUDED.assignee_id, EXCLUDED.risk_level, "
    "EXCLUDED.disposition, EXCLUDED.urgent, EXCLUDED.due_on, EXCLUDED.document) $$",
    "CREATE FUNCTION case_search_on_case() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'INSERT' OR "
    "NEW.narrative IS DISTINCT FROM OLD.narrative THEN PERFORM case_search_refresh(NEW.id); ELSE UPDATE "
    "case_search SET (created_at, status, office, restricted, assignee_id, risk_level, disposition, urgent, "
    "due_on) = (NEW.created_at, NEW.status, NEW.office, NEW.restricted, NEW.assignee_id, NEW.risk_level, "
    "NEW.disposition, NEW.urgent, NEW.due_on) WHERE case_id = NEW.id AND (created_at, status, office, restricted, "
    "assignee_id, risk_level, disposition, urgent, due_on) IS DISTINCT FROM (NEW.created_at, NEW.status, "
    "NEW.office, NEW.restricted, NEW.assignee_id, NEW.risk_level, NEW.disposition, NEW.urgent, NEW.due_on); END "
    "IF; RETURN NULL; END $$",
    "CREATE FUNCTION case_search_on_part() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'INSERT' THEN "
    "PERFORM case_search_refresh(OLD.case_id); END IF; IF TG_OP <> 'DELETE' THEN PERFORM "
    "case_search_refresh(NEW.case_id); END IF; RETURN NULL; END $$",
]

PG_TRIGGERS = [
    "CREATE TRIGGER case_search_cases AFTER INSERT OR UPDATE OF narrative, created_at, status, office, "
    "restricted, assignee_id, risk_level, disposition, urgent, due_on ON cases FOR EACH ROW EXECUTE FUNCTION "
    "case_search_on_case()",
    "CREATE TRIGGER case_search_parties AFTER INSERT OR UPDATE OR DELETE ON parties FOR EACH ROW EXECUTE FUNCTION "
    "case_search_on_part()",
    "CREATE TRIGGER case_search_notes AFTER INSERT OR UPDATE OR DELETE ON notes FOR EACH ROW EXECUTE FUNCTION "
    "case_search_on_part()",
]

PG_BUILD = (
    "INSERT INTO case_search (case_id, created_at, status, office, restricted, assignee_id, risk_level, "
    "disposition, urgent, due_on, document) SELECT c.id, c.created_at, c.status, c.office, c.restricted, "
    "c.assignee_id, c.risk_level, c.disposition, c.urgent, c.due_on, to_tsvector('english', c.narrative || ' ' || "
    "coalesce(p.txt, '') || ' ' || coalesce(n.shared, '')) || array_to_tsvector(ARRAY(SELECT 'eoa ' || lexeme "
    "FROM unnest(tsvector_to_array(to_tsvector('english', coalesce(n.eoa, '')))) lexeme)) || "
    "array_to_tsvector(ARRAY(SELECT 'conduct ' || lexeme FROM unnest(tsvector_to_array(to_tsvector('english', "
    "coalesce(n.conduct, '')))) lexeme)) || array_to_tsvector(ARRAY(SELECT 'umpd ' || lexeme FROM "
    "unnest(tsvector_to_array(to_tsvector('english', coalesce(n.umpd, '')))) lexeme)) FROM cases c LEFT JOIN "
    "LATERAL (SELECT string_agg(concat_ws(' ', name, handle, handle_normalized), ' ') AS txt FROM parties WHERE "
    "parties.case_id = c.id) p ON true LEFT JOIN LATERAL (SELECT string_agg(body, ' ') FILTER (WHERE visibility = "
    "'shared') AS shared, string_agg(body, ' ') FILTER (WHERE visibility = 'office' AND office = 'eoa') AS eoa, "
    "string_agg(body, ' ') FILTER (WHERE visibility = 'office' AND office = 'conduct') AS conduct, "
    "string_agg(body, ' ') FILTER (WHERE visibility = 'office' AND office = 'umpd') AS umpd FROM notes WHERE "
    "notes.case_id = c.id) n ON true"
)

OLD_TRIGGERS = (("case_search_cases", "cases"), ("case_search_parties", "parties"), ("case_search_notes", "notes"))
OLD_FUNCTIONS = ("case_search_on_part()", "case_search_on_case()", "case_search_refresh(integer)")

# 0004's objects, for the downgrade.
OLD_CREATE = [
    "CREATE TABLE case_search (case_id integer PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE, document "
    "tsvector NOT NULL)",
    "CREATE INDEX ix_case_search_document ON case_search USING gin (document)",
    "CREATE FUNCTION case_search_refresh(target integer) RETURNS void LANGUAGE sql AS $$ INSERT INTO case_search "
    "(case_id, document) SELECT c.id, setweight(to_tsvector('english', c.narrative || ' ' || coalesce(p.txt, '') "
    "|| ' ' || coalesce(n.shared, '')), 'A') || setweight(to_tsvector('english', coalesce(n.eoa, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(n.conduct, '')), 'C') || setweight(to_tsvector('english', "
    "coalesce(n.umpd, '')), 'D') FROM cases c LEFT JOIN LATERAL (SELECT string_agg(concat_ws(' ', name, handle, "
    "handle_normalized), ' ') AS txt FROM parties WHERE parties.case_id = c.id) p ON true LEFT JOIN LATERAL "
    "(SELECT string_agg(body, ' ') FILTER (WHERE visibility = 'shared') AS shared, string_agg(body, ' ') FILTER "
    "(WHERE visibility = 'office' AND office = 'eoa') AS eoa, string_agg(body, ' ') FILTER (WHERE visibility = "
    "'office' AND office = 'conduct') AS conduct, string_agg(body, ' ') FILTER (WHERE visibility = 'office' AND "
    "office = 'umpd') AS umpd FROM notes WHERE notes.case_id = c.id) n ON true WHERE c.id = target ON CONFLICT "
    "(case_id) DO UPDATE SET document = EXCLUDED.document $$",
    "CREATE FUNCTION case_search_on_case() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM "
    "case_search_refresh(NEW.id); RETURN NULL; END $$",
    "CREATE FUNCTION case_search_on_part() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'INSERT' THEN "
    "PERFORM case_search_refresh(OLD.case_id); END IF; IF TG_OP <> 'DELETE' THEN PERFORM "
    "case_search_refresh(NEW.case_id); END IF; RETURN NULL; END $$",
]

OLD_TRIGGERS_CREATE = [
    "CREATE TRIGGER case_search_cases AFTER INSERT OR UPDATE OF narrative ON cases FOR EACH ROW EXECUTE FUNCTION "
    "case_search_on_case()",
    "CREATE TRIGGER case_search_parties AFTER INSERT OR UPDATE OR DELETE ON parties FOR EACH ROW EXECUTE FUNCTION "
    "case_search_on_part()",
    "CREATE TRIGGER case_search_notes AFTER INSERT OR UPDATE OR DELETE ON notes FOR EACH ROW EXECUTE FUNCTION "
    "case_search_on_part()",
]

OLD_BUILD = (
    "INSERT INTO case_search (case_id, document) SELECT c.id, setweight(to_tsvector('english', c.narrative || ' ' "
    "|| coalesce(p.txt, '') || ' ' || coalesce(n.shared, '')), 'A') || setweight(to_tsvector('english', "
    "coalesce(n.eoa, '')), 'B') || setweight(to_tsvector('english', coalesce(n.conduct, '')), 'C') || "
    "setweight(to_tsvector('english', coalesce(n.umpd, '')), 'D') FROM cases c LEFT JOIN LATERAL (SELECT "
    "string_agg(concat_ws(' ', name, handle, handle_normalized), ' ') AS txt FROM parties WHERE parties.case_id = "
    "c.id) p ON true LEFT JOIN LATERAL (SELECT string_agg(body, ' ') FILTER (WHERE visibility = 'shared') AS "
    "shared, string_agg(body, ' ') FILTER (WHERE visibility = 'office' AND office = 'eoa') AS eoa, "
    "string_agg(body, ' ') FILTER (WHERE visibility = 'office' AND office = 'conduct') AS conduct, "
    "string_agg(body, ' ') FILTER (WHERE visibility = 'office' AND office = 'umpd') AS umpd FROM notes WHERE "
    "notes.case_id = c.id) n ON true"
)


def _drop_search():
    for name, table in OLD_TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON {table}")
    for function in OLD_FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
    op.execute("DROP TABLE case_search")


def _create_search(create, triggers, build):
    """The table and functions, the rows in bulk, then the indexes (quicker built once) and the triggers."""
    tables = [s for s in create if s.startswith("CREATE TABLE")]
    indexes = [s for s in create if s.startswith("CREATE INDEX")]
    functions = [s for s in create if s.startswith("CREATE FUNCTION")]
    for statement in [*tables, *functions, build, "SET LOCAL maintenance_work_mem = '256MB'", *indexes, *triggers]:
        op.execute(statement)
    op.execute("ANALYZE case_search")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    _drop_search()
    _create_search(PG_CREATE, PG_TRIGGERS, PG_BUILD)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    _drop_search()
    _create_search(OLD_CREATE, OLD_TRIGGERS_CREATE, OLD_BUILD)
