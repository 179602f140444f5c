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
