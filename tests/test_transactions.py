"""Read requests read without the SQLite write lock; their view entries and read marks are written after."""

import pytest
from sqlalchemy import event, select

from casework import audit, transactions
from casework.models import AuditEntry, User
from tests import factories


def test_read_requests_begin_deferred_and_changes_begin_immediate(app):
    with app.test_request_context("/cases/", method="GET"):
        assert transactions.begin_statement() == "BEGIN"
    with app.test_request_context("/cases/", method="HEAD"):
        assert transactions.begin_statement() == "BEGIN"
    with app.test_request_context("/cases/OH-2026-00001/notes", method="POST"):
        assert transactions.begin_statement() == "BEGIN IMMEDIATE"
    assert transactions.begin_statement() == "BEGIN IMMEDIATE"  # the CLI, outside any request
    with transactions.read_only():  # a background refresh of figures
        assert transactions.begin_statement() == "BEGIN"
    assert transactions.begin_statement() == "BEGIN IMMEDIATE"


def test_a_view_recorded_in_a_get_request_is_written_by_the_commit(app, db):
    user = factories.UserFactory(role="intake")
    db.session.commit()
    before = db.session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
    with app.test_request_context("/cases/", method="GET"):
        audit.record("case.list", user, details={"page": 1})  # queued, not yet in the table
        assert (db.session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0) == before
        db.session.commit()
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.seq > before)).all()
    assert [(e.action, e.actor_id) for e in entries] == [("case.list", user.id)]
    assert audit.verify().ok


def test_a_get_request_that_changes_a_row_in_its_read_transaction_is_refused(app, db):
    user = factories.UserFactory(role="intake")
    db.session.commit()
    with app.test_request_context("/cases/", method="GET"):
        user.display_name = "Someone Else"
        with pytest.raises(transactions.WriteInReadRequest):
            db.session.flush()
        db.session.rollback()
    assert db.session.get(User, user.id).display_name != "Someone Else"


def test_a_view_entry_that_cannot_be_written_fails_the_commit(app, db):
    def broken(session):
        raise RuntimeError("disk full")

    with app.test_request_context("/cases/", method="GET"):
        transactions.after_read(db.session, broken)
        with pytest.raises(RuntimeError, match="disk full"):
            db.session.commit()


def test_a_get_request_commits_its_view_entry_once_on_postgresql_and_after_its_reads_on_sqlite(app, db):
    """PostgreSQL writes the queued entry at the end of the read transaction and commits once (three round trips
    fewer); SQLite commits the read transaction first, then writes in a transaction of its own."""
    user = factories.UserFactory(role="intake")
    db.session.commit()
    commits = []
    session = db.session()

    def count(committed):
        commits.append(committed)

    event.listen(session, "after_commit", count)
    try:
        with app.test_request_context("/cases/", method="GET"):
            db.session.scalar(select(User.id).where(User.id == user.id))
            audit.record("case.list", user, details={"page": 1})
            db.session.commit()
    finally:
        event.remove(session, "after_commit", count)
    assert len(commits) == (1 if db.engine.dialect.name == "postgresql" else 2)
    assert db.session.scalar(select(AuditEntry.action).order_by(AuditEntry.seq.desc()).limit(1)) == "case.list"
    assert audit.verify().ok
