"""Fixtures: the app (schema built once per run by the migrations), a rollback per test,
a test client, a CLI runner and login_as(role) (which completes two-step sign-in for roles that need it).

CASEWORK_DATABASE_URL selects the database: SQLite by default, PostgreSQL in CI.
"""

import os
import tempfile
from pathlib import Path

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import scoped_session, sessionmaker

_WORK = Path(tempfile.mkdtemp(prefix="casework-tests-"))
os.environ.setdefault("CASEWORK_DATABASE_URL", f"sqlite:///{_WORK / 'test.db'}")
os.environ["CASEWORK_STORAGE_DIR"] = str(_WORK / "storage")
os.environ["CASEWORK_INSTANCE_DIR"] = str(_WORK / "instance")

from casework import create_app  # noqa: E402
from casework.extensions import db as _db  # noqa: E402
from casework.extensions import limiter  # noqa: E402
from casework.transactions import PlainSession  # noqa: E402
from tests import factories  # noqa: E402

TEST_PASSWORD = factories.TEST_PASSWORD


def _reset_database(app) -> None:
    """Drop everything and upgrade an empty database to head."""
    from flask_migrate import upgrade

    with app.app_context():
        engine = _db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            engine.dispose()
            path = engine.url.database
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        upgrade()
        engine.dispose()


class FreshGlobalsClient(FlaskClient):
    """The db fixture keeps one app context open; give each request its own `g`, as in production."""

    def open(self, *args, **kwargs):
        if has_app_context():
            g.__dict__.clear()
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app():
    app = create_app("testing")
    app.test_client_class = FreshGlobalsClient
    _reset_database(app)
    yield app
    with app.app_context():
        _db.engine.dispose()  # close pooled connections now, not at interpreter exit (ResourceWarning on psycopg)


@pytest.fixture
def db(app):
    """A database session whose work is rolled back after each test."""
    with app.app_context():
        connection = _db.engine.connect()
        outer = connection.begin()
        session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint", class_=PlainSession)
        )
        original, _db.session = _db.session, session
        try:
            yield _db
        finally:
            session.remove()
            _db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app, db):
    limiter.reset()
    return app.test_client()


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


@pytest.fixture
def make_user(db):
    def make(role: str = "intake", **kwargs):
        return factories.UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def login_as(client, make_user):
    """Sign in as a new user with `role` (or as a given user); returns the user."""

    def login(role_or_user="intake", **kwargs):
        user = make_user(role_or_user, **kwargs) if isinstance(role_or_user, str) else role_or_user
        if not user.second_factor_enabled and user.role in client.application.config["MFA_REQUIRED_ROLES"]:
            factories.enrol_second_factor(user)
        response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        if response.headers["Location"] == "/login/code":
            response = client.post("/login/code", data={"code": factories.totp_code(user)})
            assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return login
