"""Eight workers appending at once leave one valid chain: appends are serialised by a lock, not by luck."""

import threading
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from casework import audit, configure_sqlite, create_app
from casework.models import AuditEntry

WORKERS, APPENDS = 8, 500


@pytest.fixture
def separate_database(app, tmp_path):
    """A database of its own, upgraded by the migrations (triggers included), dropped afterwards:
    the `db` fixture rolls back, and these workers must really commit."""
    from flask_migrate import upgrade

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    admin = None
    if url.get_backend_name() == "postgresql":
        name = f"casework_concurrency_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = url.set(database=name)
    else:
        url = make_url(f"sqlite:///{Path(tmp_path) / 'concurrency.db'}")
    fresh = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False)})
    with fresh.app_context():
        upgrade()
        from casework.extensions import db

        db.engine.dispose()
    engine = create_engine(url, pool_size=WORKERS, max_overflow=0)
    if url.get_backend_name() == "sqlite":
        configure_sqlite(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            admin.dispose()


def test_eight_workers_appending_500_entries_each_leave_one_valid_chain_of_4000(separate_database):
    engine = separate_database
    start = threading.Barrier(WORKERS)
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            with Session(engine) as session:
                start.wait()
                for n in range(APPENDS):
                    audit.record("test.concurrent", "system", details={"worker": worker, "n": n}, session=session)
                    session.commit()
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []

    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == WORKERS * APPENDS
        result = audit.verify(session)
        assert result.ok, result.message
        assert result.checked == result.head_seq == WORKERS * APPENDS
        order = [d["worker"] for d in session.scalars(select(AuditEntry.details).order_by(AuditEntry.seq))]
        assert Counter(order) == dict.fromkeys(range(WORKERS), APPENDS)
        # The workers really interleaved: the chain is not eight blocks of 500 one after the other.
        assert sum(1 for a, b in zip(order, order[1:], strict=False) if a != b) > WORKERS
