"""The schema comes from the migrations, and the migrations match the models."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from casework.extensions import db
from casework.models import Base
from casework.search import include_object


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as connection:
        opts = {"compare_type": True, "include_object": include_object}
        context = MigrationContext.configure(connection, opts=opts)
        assert compare_metadata(context, Base.metadata) == []


def test_an_empty_database_upgrades_to_head(app, tmp_path):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # The session fixture already upgraded an empty PostgreSQL schema to head.
        with app.app_context(), db.engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return
    from flask_migrate import upgrade

    from casework import create_app

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    fresh = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    engine = create_engine(url)
    try:
        with fresh.app_context():
            upgrade()
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"users", "cases", "audit_entries", "alembic_version"} <= tables


CASE_ROW = (
    "INSERT INTO cases (id, reference, workflow_name, workflow_version, status, office, urgent, in_danger, "
    "anonymous, consent_share_identity, narrative, began_approximate, connected_to_content, channel, restricted, "
    "legal_hold, created_at, updated_at, version) VALUES (:id, :reference, 'online_harassment', 1, :status, "
    ":office, 0, 0, 1, 0, 'An account posts about me.', 0, 0, 'web', 0, 0, '2026-03-02 10:00:00', "
    "'2026-03-02 10:00:00', 1)"
)


def test_the_referral_flags_are_filled_from_the_referrals_of_existing_cases(app, tmp_path):
    """Revision 0013: who of Conduct and UMPD may see an existing case follows from its referrals."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return  # the same statements; a second schema on the shared server is not worth it
    from flask_migrate import upgrade

    from casework import create_app

    url = f"sqlite:///{tmp_path / 'kept.db'}"
    kept = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    engine = create_engine(url)
    cases = {1: ("referred_conduct", "conduct", ["conduct"]), 2: ("triaged", "eoa", ["umpd", "conduct"]),
             3: ("referred_eoa", "eoa", ["eoa"]), 4: ("received", "eoa", [])}  # fmt: skip
    try:
        with kept.app_context():
            upgrade(revision="0012")
            with engine.begin() as connection:
                for case_id, (status, office, referred_to) in cases.items():
                    reference = f"OH-2026-{case_id:05d}"
                    connection.execute(text(CASE_ROW), {"id": case_id, "reference": reference, "status": status,
                                                        "office": office})  # fmt: skip
                    for to in referred_to:
                        connection.execute(
                            text("INSERT INTO referrals (case_id, office, reason, referred_at) "
                                 "VALUES (:case_id, :office, 'Within its remit.', '2026-03-03 09:00:00')"),
                            {"case_id": case_id, "office": to},
                        )  # fmt: skip
            upgrade()
        with engine.connect() as connection:
            flags = connection.execute(text("SELECT id, referred_conduct, referred_umpd FROM cases ORDER BY id"))
            assert [tuple(row) for row in flags] == [(1, 1, 0), (2, 1, 1), (3, 0, 0), (4, 0, 0)]
    finally:
        engine.dispose()


def test_the_investigators_partial_index_holds_what_an_investigator_sees():
    """The index's condition is the investigator's scope in access, as the database is sent it (its values written
    in); were they to part, the queues and lists would still be right but walk every office's cases again."""
    from sqlalchemy import true
    from sqlalchemy.dialects import postgresql, sqlite

    from casework.access import _role_scope
    from casework.models import Case
    from casework.models.case import INVESTIGATOR_SCOPE

    scope = _role_scope("investigator", Case, true())  # restrictions aside
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        compiled = scope.compile(dialect=dialect)
        assert str(compiled).replace("cases.", "") == INVESTIGATOR_SCOPE
        assert not compiled.params
    [index] = [i for i in Case.__table__.indexes if i.name == "ix_cases_investigator_status_office_due"]
    assert str(index.dialect_options["postgresql"]["where"]) == INVESTIGATOR_SCOPE
