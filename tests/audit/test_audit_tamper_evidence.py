"""Fault injection: whoever changes the stored trail, even with the triggers off, is found out by verification."""

import json
import string
from collections import namedtuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from casework import audit
from tests.audit.helpers import append_bulk, triggers_bypassed

KEY = "test-checkpoint-key"
Entry = namedtuple("Entry", "seq hash")


@pytest.fixture
def trail(db):
    """Twenty real entries, appended through audit.record."""
    entries = [
        audit.record("test.entry", "system", case_id=i % 3 or None, object_type="case", details={"i": i})
        for i in range(20)
    ]
    return [Entry(e.seq, e.hash) for e in entries]


def _exec(db, sql, **params):
    db.session.execute(text(sql), params)
    db.session.expire_all()


def test_a_clean_trail_verifies(trail):
    result = audit.verify()
    assert result.ok and result.checked == trail[-1].seq
    assert result.head_hash == trail[-1].hash


@pytest.mark.parametrize(
    ("column", "new_value"),
    [
        ("action", "'test.entrx'"),
        ("actor_kind", "'user'"),
        ("actor_id", "7"),
        ("case_id", "COALESCE(case_id, 0) + 1"),
        ("object_id", "'4'"),
        ("object_type", "'cass'"),
        ("created_at", "created_at + INTERVAL '1 second'"),
        ("details", None),
        ("hash", "CASE WHEN substr(hash, 1, 1) = 'f' THEN 'e' ELSE 'f' END || substr(hash, 2)"),
    ],
)
def test_changing_one_field_of_one_entry_is_found_at_that_entry(db, trail, column, new_value):
    target = trail[9].seq
    if column == "details":
        new_value = "'{\"i\": 8}'"
    if column == "created_at" and db.engine.dialect.name == "sqlite":
        # SQLite keeps the time as text: change the last digit of the seconds (to another digit).
        new_value = (
            "substr(created_at, 1, 18) || CASE WHEN substr(created_at, 19, 1) = '9' THEN '8' ELSE '9' END"
            " || substr(created_at, 20)"
        )
    with triggers_bypassed(db.session):
        _exec(db, f"UPDATE audit_entries SET {column} = {new_value} WHERE seq = :seq", seq=target)  # noqa: S608
    result = audit.verify()
    assert not result.ok
    assert result.first_bad_seq == target
    assert f"#{target}" in result.message


def test_deleting_an_entry_is_found(db, trail):
    target = trail[5].seq
    with triggers_bypassed(db.session):
        _exec(db, "DELETE FROM audit_entries WHERE seq = :seq", seq=target)
    result = audit.verify()
    assert not result.ok and result.first_bad_seq == target
    assert "missing" in result.problem


def test_swapping_two_entries_is_found(db, trail):
    first, second = trail[3].seq, trail[4].seq
    with triggers_bypassed(db.session):
        _exec(db, "UPDATE audit_entries SET seq = -1 WHERE seq = :seq", seq=first)
        _exec(db, "UPDATE audit_entries SET seq = :first WHERE seq = :second", first=first, second=second)
        _exec(db, "UPDATE audit_entries SET seq = :second WHERE seq = -1", second=second)
    result = audit.verify()
    assert not result.ok and result.first_bad_seq == first


def test_truncating_the_tail_is_found_by_a_checkpoint(db, trail):
    checkpoint = audit.make_checkpoint(KEY)
    with triggers_bypassed(db.session):
        _exec(db, "DELETE FROM audit_entries WHERE seq > :seq", seq=trail[14].seq)
    # The chain alone cannot tell a short trail from a young one; the checkpoint kept outside can.
    assert audit.verify().ok
    result = audit.verify(checkpoint=checkpoint)
    assert not result.ok
    assert f"checkpoint recorded #{trail[-1].seq}" in result.problem


def test_replaying_an_old_backup_is_found_by_a_checkpoint(db, trail):
    checkpoint = audit.make_checkpoint(KEY)
    with triggers_bypassed(db.session):
        # Restore the state of entry 10, then let the system run on: a valid chain, longer than before.
        _exec(db, "DELETE FROM audit_entries WHERE seq > :seq", seq=trail[9].seq)
    for i in range(30):
        audit.record("test.after_restore", "system", details={"i": i})
    assert audit.verify().ok
    result = audit.verify(checkpoint=checkpoint)
    assert not result.ok and result.first_bad_seq == checkpoint.seq
    assert "differs from the checkpoint" in result.problem


def test_rewriting_the_whole_chain_consistently_is_found_by_a_checkpoint(db, trail):
    """Someone removes the trail and writes a new, self-consistent one: only the checkpoint can tell."""
    checkpoint = audit.make_checkpoint(KEY)
    with triggers_bypassed(db.session):
        _exec(db, "DELETE FROM audit_entries")
    for i in range(len(trail)):
        audit.record("test.entry", "system", details={"i": i, "rewritten": True})
    assert audit.verify().ok
    assert not audit.verify(checkpoint=checkpoint).ok


def test_a_checkpoint_with_a_forged_signature_is_refused(db, trail):
    checkpoint = json.loads(audit.make_checkpoint(KEY).as_json())
    checkpoint["seq"] = 3
    with pytest.raises(audit.CheckpointError, match="signature"):
        audit.load_checkpoint(json.dumps(checkpoint), KEY)
    with pytest.raises(audit.CheckpointError, match="signature"):
        audit.load_checkpoint(audit.make_checkpoint(KEY).as_json(), "another-key")
    with pytest.raises(audit.CheckpointError, match="not a Casework"):
        audit.load_checkpoint("hello", KEY)


def test_a_clean_trail_of_100000_entries_gives_no_false_alarm(db):
    before, _ = audit.head()
    with triggers_bypassed(db.session):  # only to load faster: the rows are a valid continuation of the chain
        rows = append_bulk(db.session, 100_000)
    result = audit.verify()
    assert result.ok, result.message
    assert result.checked == before + 100_000
    assert result.head_hash == rows[-1]["hash"]


def test_the_database_refuses_an_entry_that_does_not_follow_the_head(db, trail):
    head_seq, head_hash = audit.head()
    insert = text(
        "INSERT INTO audit_entries (seq, created_at, actor_kind, action, details, prev_hash, hash) "
        "VALUES (:seq, '2026-01-01 00:00:00', 'system', 'x', '{}', :prev, :h)"
    )
    for seq, prev in ((head_seq + 2, head_hash), (head_seq + 1, "a" * 64), (5, trail[3].hash)):
        with pytest.raises(DatabaseError, match="append-only"), db.session.begin_nested():
            db.session.execute(insert, {"seq": seq, "prev": prev, "h": f"{seq:064d}"})
    assert audit.verify().ok


def test_sqlite_insert_or_replace_cannot_overwrite_an_entry(db, trail):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("INSERT OR REPLACE exists only on SQLite")
    with pytest.raises(DatabaseError, match="append-only"), db.session.begin_nested():
        db.session.execute(
            text(
                "INSERT OR REPLACE INTO audit_entries (seq, created_at, actor_kind, action, details, prev_hash, hash) "
                "SELECT seq, created_at, actor_kind, 'rewritten', details, prev_hash, hash FROM audit_entries "
                "WHERE seq = :seq"
            ),
            {"seq": trail[2].seq},
        )
    assert audit.verify().ok


def test_postgresql_refuses_changes_even_in_replica_mode(db, trail):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("session_replication_role exists only on PostgreSQL")
    with pytest.raises(DatabaseError, match="append-only"), db.session.begin_nested():
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
        db.session.execute(text("DELETE FROM audit_entries WHERE seq = :seq"), {"seq": trail[3].seq})
    assert audit.verify().ok


def test_verification_reports_missing_or_disabled_triggers(db, trail):
    assert audit.missing_guards() == []
    with triggers_bypassed(db.session):
        assert "audit_entries_append_at_head" in audit.missing_guards()
    assert audit.missing_guards() == []


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
_detail_value = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), _text)


@settings(max_examples=300, deadline=None)
@given(
    seq=st.integers(1, 2**62),
    actor_kind=st.sampled_from(["user", "reporter", "system", "anonymous"]),
    actor_id=st.one_of(st.none(), st.integers(0, 2**31)),
    action=st.text(alphabet=string.ascii_lowercase + '._"\\', min_size=1, max_size=40),
    object_type=st.one_of(st.none(), _text),
    object_id=st.one_of(st.none(), _text),
    case_id=st.one_of(st.none(), st.integers(0, 2**31)),
    details=st.dictionaries(_text, st.one_of(_detail_value, st.lists(_detail_value, max_size=3)), max_size=5),
    created_at=st.datetimes(),
)
def test_the_fast_canonical_form_is_exactly_the_documented_json(
    seq, actor_kind, actor_id, action, object_type, object_id, case_id, details, created_at
):
    fields = [seq, created_at, actor_kind, actor_id, action, object_type, object_id, case_id, details, "ab" * 32]
    documented = fields.copy()
    documented[1] = created_at.isoformat(timespec="microseconds")
    expected = json.dumps(documented, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert audit.canonical(*fields) == expected
