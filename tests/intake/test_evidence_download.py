"""Staff download evidence as an attachment, never rendered, and every download is audited."""

import hashlib

import pytest
from sqlalchemy import select

from casework import storage
from casework.models import AuditEntry, Evidence
from tests.factories import CaseFactory, EvidenceFactory, RecusalFactory
from tests.intake.conftest import PDF, PNG, report_form, upload


@pytest.fixture
def case_with_files(client, db):
    response = client.post("/report", data=report_form(files=[upload(PNG, "shot.png"), upload(PDF, "letter.pdf")]))
    assert response.status_code == 302
    files = db.session.scalars(select(Evidence).where(Evidence.kind == "file").order_by(Evidence.id)).all()
    return files[0].case_id, files


def download(client, reference, evidence_id):
    """GET the download and close it, as a browser would."""
    response = client.get(f"/cases/{reference}/evidence/{evidence_id}")
    response.get_data()
    response.close()
    return response


def reference_of(db, case_id):
    from casework.models import Case

    return db.session.get(Case, case_id).reference


def test_an_investigator_downloads_a_file_as_an_attachment_with_its_stored_type(client, db, login_as, case_with_files):
    case_id, (png, _pdf) = case_with_files
    user = login_as("investigator")
    response = download(client, reference_of(db, case_id), png.id)
    assert response.status_code == 200 and response.data == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert (
        response.headers["Content-Disposition"].startswith("attachment;")
        and "shot.png" in response.headers["Content-Disposition"]
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "evidence.download"))
    assert entry.actor_id == user.id and entry.object_id == str(png.id) and entry.case_id == case_id
    assert entry.details == {"sha256": hashlib.sha256(PNG).hexdigest(), "intact": True}


def test_a_file_changed_on_disk_is_recorded_as_not_intact(client, db, login_as, case_with_files):
    case_id, (_png, pdf) = case_with_files
    storage.path_for(pdf.storage_key).write_bytes(PDF + b"tampered")
    login_as("intake")
    assert download(client, reference_of(db, case_id), pdf.id).status_code == 200
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "evidence.download"))
    assert entry.details["intact"] is False


def test_evidence_of_another_case_is_not_found(client, db, login_as, case_with_files):
    _case_id, (png, _pdf) = case_with_files
    other = CaseFactory()
    login_as("intake")
    assert client.get(f"/cases/{other.reference}/evidence/{png.id}").status_code == 404
    assert client.get(f"/cases/{other.reference}/evidence/999999").status_code == 404


def test_a_link_has_nothing_to_download(client, db, login_as):
    case = CaseFactory()
    link = EvidenceFactory(case_id=case.id)
    login_as("intake")
    assert client.get(f"/cases/{case.reference}/evidence/{link.id}").status_code == 404


def test_a_recused_investigator_gets_not_found(client, db, login_as, make_user, case_with_files):
    case_id, (png, _pdf) = case_with_files
    user = make_user("investigator")
    RecusalFactory(case_id=case_id, user_id=user.id)
    login_as(user)
    assert download(client, reference_of(db, case_id), png.id).status_code == 404
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "evidence.download")) is None


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("intake", 200),
        ("investigator", 200),
        ("auditor", 200),
        ("conduct_officer", 404),
        ("police_liaison", 404),
        ("admin", 403),
    ],
)
def test_who_may_download_evidence(client, db, login_as, case_with_files, role, status):
    case_id, (png, _pdf) = case_with_files
    login_as(role)
    assert download(client, reference_of(db, case_id), png.id).status_code == status


def test_signed_out_visitors_are_sent_to_sign_in(client, db, case_with_files):
    case_id, (png, _pdf) = case_with_files
    response = download(client, reference_of(db, case_id), png.id)
    assert response.status_code == 302 and "/login" in response.location
