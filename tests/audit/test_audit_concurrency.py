"""Eight workers appending at once leave one valid chain: appends are serialised by a lock, not by luck."""

import multiprocessing
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
from tests.audit.helpers import append_as_worker

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


def _run_threads(engine) -> None:
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


def _run_processes(engine) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WORKERS)
    url = engine.url.render_as_string(hide_password=False)
    processes = [
        context.Process(target=append_as_worker, args=(url, w, APPENDS, start), daemon=True) for w in range(WORKERS)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    assert [p.exitcode for p in processes] == [0] * WORKERS


@pytest.mark.parametrize("workers", ["threads", pytest.param("processes", marks=pytest.mark.slow)])
def test_eight_workers_appending_500_entries_each_leave_one_valid_chain_of_4000(separate_database, workers):
    engine = separate_database
    (_run_threads if workers == "threads" else _run_processes)(engine)

    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == WORKERS * APPENDS
        result = audit.verify(session)
        assert result.ok, result.message
        assert result.checked == result.head_seq == WORKERS * APPENDS
        order = [d["worker"] for d in session.scalars(select(AuditEntry.details).order_by(AuditEntry.seq))]
        assert Counter(order) == dict.fromkeys(range(WORKERS), APPENDS)
        # The workers really interleaved: the chain is not eight blocks of 500 one after the other.
        assert sum(1 for a, b in zip(order, order[1:], strict=False) if a != b) > WORKERS


def test_without_the_lock_racing_appends_fail_loudly_and_never_fork(separate_database, monkeypatch):
    """Take the lock away: the database itself (the append-at-head trigger, the unique seq) refuses every entry
    that does not follow the head, so a race costs a failed transaction, never a forked chain."""
    engine = separate_database
    if engine.dialect.name == "sqlite":
        engine = create_engine(engine.url)  # plain deferred transactions: no BEGIN IMMEDIATE write lock

    def head_without_lock(connection):
        head = connection.execute(audit._HEAD).first()
        return (head[0], head[1]) if head else (0, audit.GENESIS_HASH)

    monkeypatch.setattr(audit, "_lock_head", head_without_lock)
    start = threading.Barrier(WORKERS)
    committed = []

    def work(worker: int) -> None:
        with Session(engine) as session:
            start.wait()
            for n in range(100):
                try:
                    audit.record("test.race", "system", details={"worker": worker, "n": n}, session=session)
                    session.commit()
                    committed.append((worker, n))
                except Exception:  # noqa: BLE001 — a refused append is the expected outcome of a lost race
                    session.rollback()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as session:
        result = audit.verify(session)
        assert result.ok, result.message
        assert result.checked == len(committed) > 0
    if engine is not separate_database:
        engine.dispose()
