"""The public report form: anonymous and named reports, everything kept on an error, urgent flags."""

import hashlib
from datetime import date

from sqlalchemy import select

from casework import audit
from casework.clock import local_today
from casework.intake.routes import RECEIPT
from casework.models import AuditEntry, CaseBehaviour, CaseEvent, CasePlatform, Evidence, Party, ReporterKey
from tests.intake.conftest import JPEG, NARRATIVE, PDF, PNG, only_case, report_form, upload


def test_report_page_opens_with_the_emergency_notice_before_anything_else(client):
    page = client.get("/report")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    notice = text.index("If you are in immediate danger, call 911")
    assert notice < text.index("What happens to your report") < text.index("<form")
    assert "not</strong> linked to emergency services" in text
    assert "(413) 545-3111" in text


def test_report_page_needs_no_account_and_labels_every_field(client):
    text = client.get("/report").get_data(as_text=True)
    for field_id in ("narrative", "name", "email", "phone", "began_on", "links", "files", "parties-0-handle"):
        assert f'for="{field_id}"' in text, field_id
    for legend in ("How would you like to tell us?", "Where is it happening?", "Do you feel in immediate danger?"):
        assert f"<legend>{legend}</legend>" in text
    assert "up to 10 MB each, 40 MB in all, at most 10 files" in text


def test_an_anonymous_report_opens_a_case_awaiting_triage(client, db):
    response = client.post("/report", data=report_form(files=[upload(PNG, "screenshot.png")]))
    assert response.status_code == 302 and response.location.endswith("/report/received")
    case = only_case(db)
    assert case.status == "received" and case.workflow_name == "online_harassment" and case.workflow_version == 1
    assert case.reference.startswith(f"OH-{local_today().year}-") and len(case.reference) == 13
    assert case.anonymous and case.reporter_name is None and case.reporter_email is None
    assert case.channel == "web" and case.created_by_id is None
    assert case.due_on is not None and case.deadline_label == "triage"
    assert case.narrative == NARRATIVE
    assert case.began_on == date(2026, 10, 3) and case.began_approximate and case.ongoing is True
    assert case.connected_to_content and "op-ed" in case.connection_details
    assert not case.urgent
    party = db.session.scalar(select(Party).where(Party.case_id == case.id))
    assert party.handle == "@Fake_Profile.01" and party.handle_normalized == "fakeprofileol"
    assert party.relationship_to_reporter == "Classmate in CS 101" and party.affiliation == "student"
    platforms = {p.platform: p.other_text for p in db.session.scalars(select(CasePlatform))}
    assert platforms == {"instagram": None, "other": "A campus forum"}
    assert {b.behaviour for b in db.session.scalars(select(CaseBehaviour))} == {"impersonation", "doxxing"}
    kinds = sorted(e.kind for e in db.session.scalars(select(Evidence).where(Evidence.case_id == case.id)))
    assert kinds == ["file", "link", "link"]
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id))
    assert event.kind == "intake" and event.actor_kind == "reporter" and event.to_state == "received"
    actions = [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.case_id == case.id))]
    assert actions[0] == "case.created" and actions.count("evidence.uploaded") == 1
    assert audit.verify().ok


def test_a_named_report_keeps_the_contact_details(client, db):
    data = report_form(
        identity="named",
        name="Sam Reporter",
        email="sam.reporter@casework.example.edu",
        phone="+1 (413) 555-0100",
        affiliation="staff",
        contact_preference="email",
        consent_share_identity="y",
    )
    assert client.post("/report", data=data).status_code == 302
    case = only_case(db)
    assert not case.anonymous and case.reporter_name == "Sam Reporter"
    assert case.reporter_email == "sam.reporter@casework.example.edu" and case.reporter_phone == "+1 (413) 555-0100"
    assert case.reporter_affiliation == "staff" and case.reporter_contact_preference == "email"
    assert case.consent_share_identity


def test_choosing_anonymous_discards_contact_details_typed_before(client, db):
    data = report_form(name="Sam Reporter", email="sam@casework.example.edu", consent_share_identity="y")
    assert client.post("/report", data=data).status_code == 302
    case = only_case(db)
    assert case.anonymous and case.reporter_name is None and case.reporter_email is None
    assert not case.consent_share_identity


def test_the_receipt_shows_the_reference_and_key_once_and_keeps_the_key_out_of_urls(client, db):
    response = client.post("/report", data=report_form())
    assert "key" not in response.location.lower()
    page = client.get(response.location)
    text = page.get_data(as_text=True)
    case = only_case(db)
    assert case.reference in text and "cannot be recovered" in text
    assert page.headers["Cache-Control"] == "no-store"
    key = text.split('id="follow-up-key">', 1)[1].split("<", 1)[0]
    assert len(key) == 19 and key.count("-") == 3
    stored = db.session.scalar(select(ReporterKey).where(ReporterKey.case_id == case.id))
    assert key not in stored.key_hash and stored.key_hash.startswith("$argon2")
    with client.session_transaction() as session:
        assert RECEIPT not in session
    again = client.get("/report/received").get_data(as_text=True)
    assert key not in again and case.reference not in again and "only once" in again


def test_the_receipt_offers_next_steps_for_each_platform_and_support(client):
    page = client.get(client.post("/report", data=report_form()).location).get_data(as_text=True)
    assert "Don&#39;t feed the trolls" in page or "Don't feed the trolls" in page
    assert "Report abuse or a fake profile on Instagram" in page and "help.instagram.com" in page
    assert "Keep the evidence" in page and "577-TIPS" in page


def test_danger_or_threats_mark_the_case_urgent(client, db):
    client.post("/report", data=report_form(in_danger="yes"))
    client.post("/report", data=report_form(behaviours=["threats"]))
    cases = db.session.scalars(select(CaseEvent.case_id)).all()
    assert len(cases) == 2
    from casework.models import Case

    flags = sorted((c.in_danger, c.urgent) for c in db.session.scalars(select(Case)))
    assert flags == [(False, True), (True, True)]


def test_a_report_in_danger_repeats_the_emergency_notice_on_the_receipt(client):
    page = client.get(client.post("/report", data=report_form(in_danger="yes")).location).get_data(as_text=True)
    assert "If you are in immediate danger, call 911" in page


def test_references_count_up_within_the_year(client, db):
    client.post("/report", data=report_form())
    client.post("/report", data=report_form())
    from casework.models import Case

    numbers = sorted(int(c.reference.rsplit("-", 1)[1]) for c in db.session.scalars(select(Case)))
    assert numbers[1] == numbers[0] + 1


def test_the_evidence_hash_in_the_audit_entry_matches_the_stored_file(client, db, app):
    from casework import storage

    client.post("/report", data=report_form(files=[upload(PNG, "a.png"), upload(PDF, "letter.pdf")]))
    files = db.session.scalars(select(Evidence).where(Evidence.kind == "file").order_by(Evidence.id)).all()
    assert [f.media_type for f in files] == ["image/png", "application/pdf"]
    for evidence, content in zip(files, (PNG, PDF), strict=True):
        expected = hashlib.sha256(content).hexdigest()
        stored = storage.path_for(evidence.storage_key).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == expected == evidence.sha256
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "evidence.uploaded", AuditEntry.object_id == str(evidence.id))
        )
        assert entry.details["sha256"] == expected and entry.actor_kind == "reporter"
        assert str(storage.path_for(evidence.storage_key)).startswith(app.config["STORAGE_DIR"])
        assert "static" not in storage.path_for(evidence.storage_key).parts


def test_a_jpeg_saved_with_a_png_name_is_kept_as_what_it_is(client, db):
    client.post("/report", data=report_form(files=[upload(JPEG, "photo.png")]))
    evidence = db.session.scalar(select(Evidence).where(Evidence.kind == "file"))
    assert evidence.media_type == "image/jpeg" and evidence.file_name == "photo.png"


def test_the_audit_trail_holds_no_words_from_the_report(client, db):
    client.post("/report", data=report_form(identity="named", name="Sam Reporter", email="sam@casework.example.edu"))
    details = " ".join(str(e.details) for e in db.session.scalars(select(AuditEntry)))
    assert "Sam Reporter" not in details and "Fake_Profile" not in details and "instagram.com" not in details


def test_the_follow_up_key_is_hashed_before_the_database_is_held(client, db, monkeypatch):
    """Argon2 is slow by design; on SQLite a transaction holds the write lock, so reports would queue behind it."""
    from casework.intake import keys

    in_transaction = []
    real_hash = keys.hash_key

    def spy(key):
        in_transaction.append(db.session().in_transaction())
        return real_hash(key)

    monkeypatch.setattr(keys, "hash_key", spy)
    assert client.post("/report", data=report_form()).status_code == 302
    assert in_transaction == [False]
