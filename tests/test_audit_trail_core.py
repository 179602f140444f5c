"""The audit trail chains entries and the database refuses to change them."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from casework import audit
from casework.models import AuditEntry


def test_entries_chain_each_to_the_one_before(db):
    first = audit.record("test.first", "system", details={"n": 1})
    second = audit.record("test.second", "system", details={"n": 2})
    assert second.seq == first.seq + 1
    assert second.prev_hash == first.hash
    assert audit.verify().ok


def test_details_that_look_like_content_are_refused(db):
    with pytest.raises(audit.AuditDetailError):
        audit.record("test.bad", "system", details={"narrative": "x" * 500})
    with pytest.raises(audit.AuditDetailError):
        audit.record("test.bad", "system", details={"nested": {"a": 1}})


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET action = 'changed'",
        "DELETE FROM audit_entries",
    ],
)
def test_database_refuses_to_change_or_delete_entries(db, statement):
    audit.record("test.entry", "system")
    db.session.commit()
    with pytest.raises(DatabaseError, match="append-only"), db.session.begin_nested():
        db.session.execute(text(statement))
    assert db.session.query(AuditEntry).filter_by(action="test.entry").count() == 1
