"""Retention: expired closed cases lose their personal data and evidence; a tombstone and the audit chain stay."""

import io
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casework import audit, retention, storage
from casework.models import (
    AuditEntry,
    Case,
    CaseBehaviour,
    CaseEvent,
    CasePlatform,
    Evidence,
    Message,
    Note,
    Party,
    ReporterKey,
    utcnow,
)
from config import ConfigurationError
from tests import factories

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _closed_case(years_ago: float, disposition: str = "resolved", **kwargs) -> Case:
    closed = utcnow() - timedelta(days=365.25 * years_ago)
    return factories.CaseFactory(
        status="closed",
        closed_at=closed,
        created_at=closed - timedelta(days=30),
        disposition=disposition,
        **kwargs,
    )


def _full_case(app, years_ago: float = 8) -> tuple[Case, Path]:
    """A closed case with everything a purge must remove, and an evidence file in storage."""
    case = _closed_case(
        years_ago,
        anonymous=False,
        reporter_name="Robin Reporter",
        reporter_email="robin@casework.example.edu",
        reporter_phone="+1 301 555 0100",
        reporter_affiliation="student",
        narrative="Robin's own words about the fake profile.",
        closing_summary="Spoke with Robin; resolved.",
        connection_details="Robin's class group chat.",
    )
    factories.PartyFactory(case=case, name="Jordan Respondent")
    factories.NoteFactory(case_id=case.id, body="Note naming Jordan Respondent.")
    factories.MessageFactory(case_id=case.id, body="Message from Robin.")
    factories.CasePlatformFactory(case_id=case.id, platform="other", other_text="Robin's Mastodon")
    factories.CaseBehaviourFactory(case_id=case.id, behaviour="impersonation")
    factories.CaseEventFactory(case_id=case.id, kind="transition", reason="Robin asked to close.")
    factories.ReporterKeyFactory(case_id=case.id)
    factories.EvidenceFactory(case_id=case.id)  # a link
    stored = storage.save(io.BytesIO(PNG), "robin.png")  # where and how an upload is kept
    factories.EvidenceFactory(
        case_id=case.id,
        kind="file",
        url=None,
        file_name="robin.png",
        sha256=stored.sha256,
        storage_key=stored.key,
        size=stored.size,
    )
    return case, storage.path_for(stored.key)


def _count(db, model, case):
    return db.session.scalar(select(func.count()).select_from(model).where(model.case_id == case.id))


def test_retention_defaults_to_seven_years_for_every_disposition():
    assert retention.parse_policy(None) == {"*": 7}
    assert retention.parse_policy("5") == {"*": 5}


def test_retention_can_differ_by_disposition():
    policy = retention.parse_policy("7, sanction_applied=10, withdrawn_by_reporter=3")
    assert policy == {"*": 7, "sanction_applied": 10, "withdrawn_by_reporter": 3}


@pytest.mark.parametrize("setting", ["seven", "made_up_disposition=3", "resolved=0", "resolved=ten", "500"])
def test_a_bad_retention_setting_names_the_variable(setting):
    with pytest.raises(ConfigurationError, match="CASEWORK_RETENTION_YEARS"):
        retention.parse_policy(setting)


def test_only_closed_cases_past_their_period_and_not_on_hold_expire(db):
    old = _closed_case(8)
    recent = _closed_case(6)
    held = _closed_case(9, legal_hold=True)
    already = _closed_case(9, purged_at=utcnow())
    still_open = factories.CaseFactory(status="received", created_at=utcnow() - timedelta(days=365 * 10))
    expired = set(db.session.scalars(retention.expired_cases()))
    assert old in expired
    assert not {recent, held, already, still_open} & expired


def test_per_disposition_periods_decide_what_expires(db):
    sanction = _closed_case(8, disposition="sanction_applied")
    withdrawn = _closed_case(4, disposition="withdrawn_by_reporter")
    policy = retention.parse_policy("7,sanction_applied=10,withdrawn_by_reporter=3")
    expired = set(db.session.scalars(retention.expired_cases(policy=policy)))
    assert withdrawn in expired and sanction not in expired


def test_retention_ends_a_set_number_of_years_after_closing(db):
    case = _closed_case(0, disposition="sanction_applied")
    case.closed_at = datetime(2024, 2, 29, 12, 0)
    assert retention.retention_ends(case, {"*": 7, "sanction_applied": 10}) == datetime(2034, 2, 28, 12, 0)
    assert retention.retention_ends(factories.CaseFactory(), {"*": 7}) is None


def test_purge_removes_personal_data_and_evidence_and_keeps_a_tombstone(app, runner, db):
    case, path = _full_case(app)
    reference, created, closed, office = case.reference, case.created_at, case.closed_at, case.office
    result = runner.invoke(args=["retention", "purge"])
    assert result.exit_code == 0, result.output
    assert f"Purged {reference}" in result.output and "1 evidence file(s) deleted" in result.output
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.narrative == "" and case.closing_summary is None and case.connection_details is None
    assert (case.reporter_name, case.reporter_email, case.reporter_phone) == (None, None, None)
    for model in (Party, Note, Message, Evidence, ReporterKey):
        assert _count(db, model, case) == 0, model
    assert not path.exists()
    # The tombstone: reference, dates, disposition, office and the anonymous statistics.
    assert (case.reference, case.created_at, case.closed_at, case.office) == (reference, created, closed, office)
    assert case.disposition == "resolved" and case.reporter_affiliation == "student"
    assert case.purged_at is not None
    assert [p.platform for p in db.session.scalars(select(CasePlatform).where(CasePlatform.case_id == case.id))] == [
        "other"
    ]
    assert db.session.scalar(select(CasePlatform.other_text).where(CasePlatform.case_id == case.id)) is None
    assert _count(db, CaseBehaviour, case) == 1
    assert db.session.scalar(select(CaseEvent.reason).where(CaseEvent.case_id == case.id)) is None


def test_purge_is_recorded_with_ids_only_and_the_audit_chain_still_verifies(app, runner, db):
    case, _ = _full_case(app)
    audit.record("case.viewed", "system", case_id=case.id, object_type="case", object_id=case.id)
    assert runner.invoke(args=["retention", "purge"]).exit_code == 0
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "case.purged"))
    assert entry.case_id == case.id and entry.actor_kind == "system"
    assert entry.details == {"parties": 1, "notes": 1, "messages": 1, "evidence": 2, "files": 1}
    assert "Robin" not in str(entry.details)
    assert audit.verify().ok


def test_dry_run_lists_references_and_counts_and_changes_nothing(app, runner, db):
    case, path = _full_case(app)
    result = runner.invoke(args=["retention", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert case.reference in result.output and "parties=1 notes=1 messages=1 evidence=2 files=1" in result.output
    assert "1 case(s) would be purged" in result.output
    assert "Robin" not in result.output and "Jordan" not in result.output
    db.session.expire_all()
    assert db.session.get(Case, case.id).purged_at is None
    assert path.exists() and _count(db, Party, case) == 1
    assert not db.session.scalar(select(AuditEntry).where(AuditEntry.action == "case.purged"))


def test_a_case_on_legal_hold_is_not_purged(app, runner, db):
    case, path = _full_case(app)
    result = runner.invoke(args=["retention", "hold", case.reference, "--on"])
    assert result.exit_code == 0 and "is on legal hold" in result.output
    assert "0 case(s) purged" in runner.invoke(args=["retention", "purge"]).output
    db.session.expire_all()
    assert db.session.get(Case, case.id).purged_at is None and path.exists()
    assert runner.invoke(args=["retention", "hold", case.reference, "--off"]).exit_code == 0
    assert "1 case(s) purged" in runner.invoke(args=["retention", "purge"]).output
    actions = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.case_id == case.id)))
    assert actions == ["case.legal_hold_set", "case.legal_hold_cleared", "case.purged"]


def test_legal_hold_of_an_unknown_reference_is_refused(runner, db):
    result = runner.invoke(args=["retention", "hold", "OH-1999-00001", "--on"])
    assert result.exit_code != 0 and "No case OH-1999-00001" in result.output


def test_intake_and_administrators_set_legal_holds_and_others_may_not(make_user, db):
    case = factories.CaseFactory()
    assert retention.set_legal_hold(make_user("intake"), case, True) is True
    assert retention.set_legal_hold(make_user("admin"), case, True) is False  # already on: nothing recorded
    with pytest.raises(retention.RetentionError, match="Only intake"):
        retention.set_legal_hold(make_user("investigator"), case, False)
    assert case.legal_hold is True


def test_a_purged_case_cannot_be_put_on_hold_or_purged_again(db):
    case = _closed_case(8)
    retention.purge_case(case)
    with pytest.raises(retention.RetentionError):
        retention.set_legal_hold("system", case, True)
    with pytest.raises(retention.RetentionError):
        retention.purge_case(case)


def test_an_open_case_is_never_purged(db):
    with pytest.raises(retention.RetentionError, match="not closed"):
        retention.purge_case(factories.CaseFactory())


def test_a_storage_key_outside_the_storage_root_is_never_deleted(app, tmp_path):
    outside = Path(app.config["STORAGE_DIR"]).parent / "precious.txt"
    outside.write_text("keep me")
    assert retention.delete_stored_files(["../precious.txt", str(outside), "/etc/hostname"]) == 0
    assert outside.exists()


def test_a_missing_evidence_file_does_not_stop_a_purge(app, runner, db):
    case, path = _full_case(app)
    path.unlink()
    result = runner.invoke(args=["retention", "purge"])
    assert result.exit_code == 0 and "0 evidence file(s) deleted" in result.output
    db.session.expire_all()
    assert db.session.get(Case, case.id).purged_at is not None


def _age(path: Path, hours: float) -> None:
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


def test_sweep_deletes_old_stored_files_no_evidence_names_and_records_how_many(app, runner, db):
    case, kept = _full_case(app)
    orphan = storage.path_for(storage.save(io.BytesIO(PNG), "left-behind.png").key)
    fresh = storage.path_for(storage.save(io.BytesIO(PNG), "committing-now.png").key)
    for path in (kept, orphan):
        _age(path, 2)

    dry = runner.invoke(args=["retention", "sweep-files", "--dry-run"])
    assert dry.exit_code == 0 and "1 stored file(s) are named by no evidence" in dry.output
    assert orphan.exists()

    result = runner.invoke(args=["retention", "sweep-files"])
    assert result.exit_code == 0, result.output
    assert "1 stored file(s) named by no evidence deleted" in result.output
    assert not orphan.exists()
    assert kept.exists() and fresh.exists()  # named by a case; too young to judge
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "storage.swept")).one()
    assert entry.actor_kind == "system" and entry.details == {"files": 1}


def test_sweep_removes_the_files_a_purge_stopped_before_deleting(app, runner, db):
    case, path = _full_case(app)
    _age(path, 2)
    retention.purge_case(case)  # committed, but the process stopped before delete_stored_files
    db.session.flush()
    assert path.exists()
    assert runner.invoke(args=["retention", "sweep-files"]).exit_code == 0
    assert not path.exists()
