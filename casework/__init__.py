"""Casework: a self-hosted back office for reports of online and social-media harassment."""

import importlib
import os
import pkgutil
from pathlib import Path

from flask import Flask
from sqlalchemy import event

from config import CONFIGS

ROOT = Path(__file__).resolve().parent.parent


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    """The app factory: configuration (plus optional overrides, as in tests), extensions, blueprints."""
    config = CONFIGS[config_name or os.environ.get("CASEWORK_CONFIG", "development")]
    config.init()
    app = Flask(__name__, template_folder=str(ROOT / "templates"), instance_path=str(ROOT / "instance"))
    app.config.from_object(config)
    app.config.update(overrides or {})
    register_extensions(app)
    register_security(app)
    register_workflows(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from casework.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)


def configure_sqlite(engine) -> None:
    """WAL, a busy timeout, foreign keys, and write transactions that begin IMMEDIATE (rule 7); a read request's
    transaction begins deferred and writes afterwards (casework/transactions.py)."""
    from casework.transactions import begin_statement

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below take over
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        # 32 MB of page cache instead of 2 MB: a search counts up to a thousand matching cases, each on its own
        # page, and with 2 MB it read them again on every page of results (on a million cases 20 -> 18 ms).
        cursor.execute("PRAGMA cache_size=-32768")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql(begin_statement())


BLUEPRINT_PACKAGES = ("auth", "reports", "cases", "intake", "auditing")


def register_blueprints(app: Flask) -> None:
    """Register each area's blueprint, after loading every `*routes.py` module of its package."""
    for name in BLUEPRINT_PACKAGES:
        package = importlib.import_module(f"casework.{name}")
        for module in pkgutil.iter_modules(package.__path__):
            if module.name.endswith("routes"):
                importlib.import_module(f"casework.{name}.{module.name}")
        app.register_blueprint(importlib.import_module(f"casework.{name}.routes").bp)


def register_security(app: Flask) -> None:
    from casework.security import register_security as register

    register(app)


def register_workflows(app: Flask) -> None:
    """Load and validate every workflow definition; a bad one stops the app from starting."""
    from workflows import load_directory

    app.extensions["workflows"] = load_directory(app.config.get("WORKFLOWS_DIR"))


def register_template_helpers(app: Flask) -> None:
    from casework import templating, vocabulary
    from casework.navigation import nav_items

    templating.register(app)

    @app.context_processor
    def inject_helpers():
        return {
            "nav_items": nav_items,
            "has_endpoint": app.view_functions.__contains__,
            "vocab": vocabulary,
            "institution": app.config["INSTITUTION_NAME"],
        }


def register_error_handlers(app: Flask) -> None:
    from casework.errors import register

    register(app)


def register_commands(app: Flask) -> None:
    from casework.cli import register

    register(app)
