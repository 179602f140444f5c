"""`flask audit verify` and `flask audit checkpoint`: what an operator runs, and what they see."""

import json

from sqlalchemy import select, text

from casework import audit
from casework.models import AuditEntry
from tests.audit.helpers import triggers_bypassed


def _trail(n=10):
    return [audit.record("test.entry", "system", details={"i": i}).seq for i in range(n)]


def test_verify_reports_an_intact_trail_and_records_the_verification(runner, db):
    _trail()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "The audit trail is intact" in result.output and "Head: #" in result.output
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert entry.action == "audit.verified" and entry.details["ok"] is True and entry.details["source"] == "cli"


def test_verify_exits_non_zero_naming_the_first_bad_entry(runner, db):
    seqs = _trail()
    with triggers_bypassed(db.session):
        db.session.execute(text("UPDATE audit_entries SET action = 'test.changed' WHERE seq = :s"), {"s": seqs[4]})
    result = runner.invoke(args=["audit", "verify", "--no-record"])
    assert result.exit_code == 1
    assert f"broken at entry #{seqs[4]}" in result.output


def test_checkpoint_prints_the_signed_head_and_verify_proves_the_trail_extends_it(runner, db, tmp_path):
    _trail()
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    checkpoint = json.loads(result.output)
    head_seq, head_hash = audit.head()
    assert (checkpoint["seq"], checkpoint["hash"]) == (head_seq, head_hash)
    assert len(checkpoint["hmac_sha256"]) == 64
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.seq == head_seq)) == "audit.checkpoint_taken"
    path = tmp_path / "checkpoint.json"
    path.write_text(result.output)
    _trail(3)
    verified = runner.invoke(args=["audit", "verify", "--checkpoint", str(path)])
    assert verified.exit_code == 0, verified.output
    assert f"extends the checkpoint of entry #{head_seq}" in verified.output


def test_checkpoint_output_file_is_readable_by_its_owner_only(runner, db, tmp_path):
    path = tmp_path / "cp.json"
    result = runner.invoke(args=["audit", "checkpoint", "--output", str(path)])
    assert result.exit_code == 0, result.output
    assert path.stat().st_mode & 0o077 == 0
    assert json.loads(path.read_text())["kind"] == "casework-audit-checkpoint"


def test_verify_with_a_checkpoint_finds_a_truncated_trail(runner, db, tmp_path):
    _trail()
    path = tmp_path / "checkpoint.json"
    runner.invoke(args=["audit", "checkpoint", "--output", str(path)])
    checkpoint_seq = json.loads(path.read_text())["seq"]
    with triggers_bypassed(db.session):
        db.session.execute(text("DELETE FROM audit_entries WHERE seq > :s"), {"s": checkpoint_seq - 3})
    result = runner.invoke(args=["audit", "verify", "--no-record", "--checkpoint", str(path)])
    assert result.exit_code == 1
    assert f"checkpoint recorded #{checkpoint_seq}" in result.output


def test_verify_refuses_a_checkpoint_signed_with_another_key(runner, db, tmp_path):
    _trail(2)
    path = tmp_path / "checkpoint.json"
    path.write_text(audit.make_checkpoint("some-other-key").as_json())
    result = runner.invoke(args=["audit", "verify", "--checkpoint", str(path)])
    assert result.exit_code == 1
    assert "signature does not match" in result.output


def test_verify_fails_when_the_append_only_triggers_are_gone(runner, db):
    _trail(2)
    with triggers_bypassed(db.session):
        result = runner.invoke(args=["audit", "verify", "--no-record"])
    assert result.exit_code == 1
    assert "audit_entries_append_at_head is missing or disabled" in result.output
