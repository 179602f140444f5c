"""PDF documents of a case, through the routes: what each one shows and hides, and what the trail keeps.

Each render costs about half a second, so the PDF tests are few and each checks a whole document; the
redaction rules are also checked on the contexts, which need no render.
"""

import hashlib
import io

from PIL import Image
from sqlalchemy import select

from casework import documents, storage
from casework.cases import service
from casework.models import AuditEntry
from casework.pdf import PDFRenderError
from tests.documents.conftest import (
    NARRATIVE,
    REPORTER_EMAIL,
    REPORTER_NAME,
    REPORTER_PHONE,
    pdfinfo,
    pdftotext,
    png_bytes,
    poppler,
    refer,
    squeezed,
    store_evidence,
)
from tests.factories import NoteFactory, UserFactory

EOA_SECRET = "EOA-internal: reporter's counsellor Wendeline Abernathy-Krug"
CONDUCT_SECRET = "Conduct-internal: prior hearing file 88-Q"
UMPD_SECRET = "UMPD-internal: detective Ingrid Halvorsen-Pike"
SHARED = "Shared: respondent removed the post on request"
CONNECTION = "After my op-ed in the Daily Collegian on parking fees"


def _generations(db, case) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.case_id == case.id, AuditEntry.action == "pdf.generated")
    return list(db.session.scalars(query.order_by(AuditEntry.seq)))


def _plant_notes(case, make_user):
    investigator, conduct, police = make_user("investigator"), make_user("conduct_officer"), make_user("police_liaison")
    NoteFactory(case_id=case.id, author_id=investigator.id, office="eoa", visibility="office", body=EOA_SECRET)
    NoteFactory(case_id=case.id, author_id=conduct.id, office="conduct", visibility="office", body=CONDUCT_SECRET)
    NoteFactory(case_id=case.id, author_id=police.id, office="umpd", visibility="office", body=UMPD_SECRET)
    NoteFactory(case_id=case.id, author_id=investigator.id, office="eoa", visibility="shared", body=SHARED)


def test_case_summary_shows_the_whole_case_to_eoa_with_hashes_thumbnails_and_an_audited_sha256(
    client, db, login_as, named_case, make_user
):
    case = named_case()
    screenshot = store_evidence(case, png_bytes(), "screenshot-1.png")
    _plant_notes(case, make_user)
    intake = login_as("intake")

    response = client.get(f"/cases/{case.reference}/summary.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{case.reference}-summary.pdf"'
    assert "no-store" in response.headers["Cache-Control"]
    text = pdftotext(response.data)
    flat = squeezed(response.data)
    for shown in (case.reference, "CONFIDENTIAL", "Page 1 of", intake.display_name, "Triaged", "High",
                  REPORTER_NAME, REPORTER_EMAIL, REPORTER_PHONE, "Respondent Ostrowski", "Instagram",
                  "Threats of violence", "screenshot-1.png", "image/png", EOA_SECRET, SHARED, NARRATIVE):  # fmt: skip
        assert "".join(shown.split()) in flat, shown
    assert CONDUCT_SECRET not in text and UMPD_SECRET not in text
    # The manifest's hash is the stored file's, hashed again now.
    assert storage.sha256_of(screenshot.storage_key) in squeezed(response.data)
    assert poppler_images(response.data) == 1  # the screenshot's thumbnail
    [entry] = _generations(db, case)
    assert entry.actor_id == intake.id
    assert entry.details == {
        "kind": "case_summary",
        "sha256": hashlib.sha256(response.data).hexdigest(),
        "pages": entry.details["pages"],
    }
    info = pdfinfo(response.data)
    assert info["Title"] == f"{case.reference} — Case summary" and info["Author"] == "Casework"
    assert REPORTER_NAME not in " ".join(info.values()) and intake.display_name not in " ".join(info.values())
    assert not {"Subject", "Keywords"} & set(info)


def poppler_images(data: bytes) -> int:
    """How many raster images the PDF embeds (the logo is an SVG, drawn as vectors)."""
    return len(poppler("pdfimages", data, "-list").splitlines()[2:])


def test_referral_packet_of_a_non_consenting_reporter_hides_identity_and_other_offices_internal_notes(
    client, db, login_as, named_case, make_user
):
    case = named_case()
    refer(case, make_user("intake"), "conduct", reason="Respondent is a student: Student Conduct code 4.2 applies.")
    _plant_notes(case, make_user)
    officer = login_as("conduct_officer")

    response = client.get(f"/cases/{case.reference}/referral.pdf")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="{case.reference}-referral.pdf"'
    text = squeezed(response.data)
    flat = " ".join(pdftotext(response.data).split())
    for hidden in (REPORTER_NAME, REPORTER_EMAIL, REPORTER_PHONE, "Marchetti", "qmv.reporter7731", "0177",
                   EOA_SECRET, "Abernathy", UMPD_SECRET, "Halvorsen"):  # fmt: skip
        assert "".join(hidden.split()) not in text, hidden
    assert "did not consent" in flat
    assert "Referral to Student Conduct" in flat and "Student Conduct code 4.2 applies" in flat
    assert f"Acknowledge by {case.due_on.isoformat()}" in flat
    assert all("".join(shown.split()) in text for shown in (CONDUCT_SECRET, SHARED, NARRATIVE))
    [entry] = _generations(db, case)
    assert entry.actor_id == officer.id and entry.details["kind"] == "referral_packet"
    assert entry.details["referral_id"] == case.referrals[-1].id
    assert entry.details["sha256"] == hashlib.sha256(response.data).hexdigest()


def test_audit_history_lists_the_cases_entries_with_hashes_and_the_chain_verified_at_print_time(
    client, db, login_as, named_case, make_user
):
    case = named_case(connected_to_content=True, connection_details=CONNECTION)
    refer(case, make_user("intake"), "umpd", reason="Threats.")
    transition_entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.case_id == case.id, AuditEntry.action == "case.transition")
    ).one()
    auditor = login_as("auditor")

    response = client.get(f"/cases/{case.reference}/audit-history.pdf")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="{case.reference}-audit-history.pdf"'
    text = pdftotext(response.data)
    flat = squeezed(response.data)
    assert "Chain verification at print time: intact" in " ".join(text.split())
    assert transition_entry.hash in flat and transition_entry.prev_hash in flat
    assert "case.transition" in text and "ReferredtoUMPD" in flat
    for hidden in (REPORTER_NAME, NARRATIVE, CONNECTION, "Respondent Ostrowski"):
        assert "".join(hidden.split()) not in flat, hidden
    [entry] = _generations(db, case)
    assert entry.actor_id == auditor.id and entry.details["kind"] == "audit_history"
    assert entry.details["sha256"] == hashlib.sha256(response.data).hexdigest()


def test_a_pdf_that_cannot_be_rendered_gives_a_clear_error_page_and_is_recorded(
    client, db, login_as, named_case, monkeypatch
):
    case = named_case()

    def refuse(*args, **kwargs):
        raise PDFRenderError("PDF rendering took longer than the 30 s limit")

    monkeypatch.setattr(documents.pdf, "render_pdf", refuse)
    login_as("investigator")

    response = client.get(f"/cases/{case.reference}/summary.pdf")

    assert response.status_code == 503 and response.mimetype == "text/html"
    assert "The PDF could not be made just now" in response.get_data(as_text=True)
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.case_id == case.id)).all()
    assert "pdf.failed" in actions and "pdf.generated" not in actions


# -- redaction rules, on the contexts (no render) ------------------------------------------------


def test_referral_packet_names_a_reporter_who_consented_but_never_an_anonymous_one(db, named_case, make_user):
    intake = make_user("intake")
    consenting = named_case(consent_share_identity=True)
    refer(consenting, intake)
    context = documents.referral_packet_context(consenting, intake, consenting.referrals[-1])
    assert context.audience.show_reporter_identity and context.reporter.name == REPORTER_NAME

    anonymous = named_case(anonymous=True, reporter_name=None, reporter_email=None, reporter_phone=None)
    refer(anonymous, intake)
    context = documents.referral_packet_context(anonymous, intake, anonymous.referrals[-1])
    assert context.reporter is None and context.reporter_withheld_reason is None


def test_an_eoa_packet_printed_by_intake_for_conduct_holds_only_shared_notes(db, named_case, make_user):
    intake = make_user("intake")
    case = named_case()
    refer(case, intake)
    _plant_notes(case, make_user)

    context = documents.referral_packet_context(case, intake, case.referrals[-1])

    assert [n.body for n in context.notes] == [SHARED]
    assert not context.audience.show_reporter_identity and context.reporter is None


def test_conduct_sees_in_its_summary_no_identity_without_consent(db, named_case, make_user):
    case = named_case()
    refer(case, make_user("intake"))
    context = documents.case_summary_context(case, make_user("conduct_officer"))
    assert context.reporter is None and "did not consent" in context.reporter_withheld_reason


def test_a_conduct_officer_may_not_print_the_packet_of_a_referral_to_umpd(client, db, login_as, named_case, make_user):
    case = named_case()
    intake = make_user("intake")
    refer(case, intake, "conduct")
    service.transition(case, "return_to_triage", intake, {"reason": "Needs police."}, case.version)
    refer(case, intake, "umpd")
    to_conduct, to_umpd = case.referrals
    login_as("conduct_officer")

    assert client.get(f"/cases/{case.reference}/referral.pdf?referral={to_umpd.id}").status_code == 403
    assert client.get(f"/cases/{case.reference}/referral.pdf?referral=99999999").status_code == 404
    assert documents.choose_referral(case, documents_user(db, "conduct_officer"), None).id == to_conduct.id


def documents_user(db, role):
    return UserFactory(role=role)


def test_a_case_without_a_referral_has_no_packet(client, db, login_as, named_case):
    case = named_case()
    login_as("intake")
    response = client.get(f"/cases/{case.reference}/referral.pdf")
    assert response.status_code == 404 and "has no referral" in response.get_data(as_text=True)


# -- thumbnails ------------------------------------------------------------------------------------


def test_thumbnails_are_re_encoded_without_the_originals_exif(db, named_case):
    case = named_case()
    exif = Image.Exif()
    exif[0x010E] = "GPS-SECRET-PLACE 42.39N"  # ImageDescription
    exif[0x013B] = "Photographer Secretname"  # Artist
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (10, 120, 200)).save(out, "JPEG", exif=exif)
    assert b"GPS-SECRET-PLACE" in out.getvalue()
    evidence = store_evidence(case, out.getvalue(), "photo.jpg")

    thumbnail = documents.make_thumbnail(evidence)

    assert thumbnail is not None and b"GPS-SECRET" not in thumbnail and b"Secretname" not in thumbnail
    with Image.open(io.BytesIO(thumbnail)) as image:
        assert image.format == "JPEG" and max(image.size) <= 360 and not image.getexif()


def test_an_image_past_pillows_decompression_bomb_limit_gets_no_thumbnail_but_stays_in_the_manifest(db, named_case):
    case = named_case()
    out = io.BytesIO()
    Image.new("1", (10000, 9000)).save(out, "PNG")  # 90 million pixels: past the warning threshold
    evidence = store_evidence(case, out.getvalue(), "huge.png")

    assert documents.make_thumbnail(evidence) is None
    thumbnails: dict = {}
    context = documents.case_summary_context(case, documents_user(db, "intake"), thumbnails)
    assert [e.file_name for e in context.evidence] == ["huge.png"] and thumbnails == {}
    assert context.evidence[0].thumbnail_url is None


# -- links -------------------------------------------------------------------------------------------


def test_the_case_page_offers_the_documents_the_reader_may_print(client, db, login_as, named_case, make_user):
    case = named_case()
    refer(case, make_user("intake"))
    login_as("conduct_officer")
    page = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert f"/cases/{case.reference}/summary.pdf" in page
    assert f"/cases/{case.reference}/referral.pdf?referral={case.referrals[-1].id}" in page
    assert "audit-history.pdf" not in page


def test_after_a_referral_the_case_page_offers_the_packet(client, db, login_as, named_case):
    case = named_case()
    login_as("intake")
    response = client.post(
        f"/cases/{case.reference}/actions/refer_conduct",
        data={"refer_conduct-version": str(case.version), "refer_conduct-reason": "Student respondent."},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "The referral packet for the receiving office is under Documents" in page
    assert f"/cases/{case.reference}/referral.pdf?referral=" in page


def test_the_auditors_case_history_links_to_the_audit_history_pdf(client, db, login_as, named_case):
    case = named_case()
    login_as("auditor")
    page = client.get(f"/audit/cases/{case.reference}").get_data(as_text=True)
    assert f"/cases/{case.reference}/audit-history.pdf" in page
