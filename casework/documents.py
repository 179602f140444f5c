"""PDF documents of a case: the plain-data context for each audience, thumbnails, rendering and the audit entry.

Three documents, each redacted for whoever it is printed for:

- the **case summary** (the office holding the case, auditors): the reporter's identity only when the reader
  may see it (`access.may_see_reporter_identity`), the notes the reader may read;
- the **referral packet** (for the office a referral went to): the reporter's identity only when the reporter
  consented to share it, and only notes that are shared or internal to the receiving office (and readable by the
  reader), with the referral's reason and acknowledgement deadline;
- the **audit history** (auditors): the timeline, the case's audit entries with their hashes, and the result of
  verifying the whole chain at the time of printing. Never the reporter, the account, parties, evidence or notes.

Contexts hold plain values only (`casework.pdf_context`), never ORM objects: rendering cannot query the database.
Plain functions, no `request`; `record_generated` writes the audit entry (flushes, never commits).
"""

from __future__ import annotations

import dataclasses
import io
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import bindparam, select

from casework import access, audit, flows, pdf, storage
from casework.cases import service
from casework.clock import local_time
from casework.extensions import db
from casework.models import AuditEntry, Case, CaseEvent, Evidence, Note, Referral, User
from casework.pdf_context import (
    Audience,
    CaseInfo,
    DocumentInfo,
    EvidenceItem,
    Party,
    PDFContext,
    ReporterInfo,
    TimelineEvent,
    Verification,
)
from casework.pdf_context import AuditEntry as AuditLine
from casework.pdf_context import Note as NoteLine
from casework.pdf_context import Referral as ReferralInfo
from casework.vocabulary import (
    AFFILIATIONS,
    BEHAVIOURS,
    CHANNELS,
    CONTACT_PREFERENCES,
    DISPOSITIONS,
    OFFICES,
    PARTY_KINDS,
    PLATFORMS,
    RISK_LEVELS,
)
from workflows import WorkflowError

# Who may print which document (on top of seeing the case at all).
SUMMARY_ROLES = ("intake", "investigator", "conduct_officer", "police_liaison", "auditor")
REFERRAL_ROLES = ("intake", "investigator", "conduct_officer", "police_liaison", "auditor")
AUDIT_HISTORY_ROLES = ("auditor",)
# Conduct officers and police liaisons print only packets of referrals to their own office.
RECEIVING_ROLE_OFFICE = access.REFERRAL_ROLES

KINDS = {
    "case_summary": ("Case summary", "summary"),
    "referral_packet": ("Referral packet", "referral"),
    "audit_history": ("Audit history", "audit-history"),
}
THUMBNAIL_SIZE = (360, 360)  # pixels: sharp at the ~30 mm the manifest prints them
THUMBNAIL_FORMATS = ("PNG", "JPEG", "WEBP")
OFFICE_SHORT = {"eoa": "EOA", "conduct": "Student Conduct", "umpd": "UMPD"}


@dataclass(frozen=True)
class Document:
    """A document ready to render: its context, the thumbnails it addresses, and how to name it."""

    kind: str
    case_id: int
    reference: str
    context: PDFContext
    thumbnails: dict[str, bytes] = field(default_factory=dict)
    referral_id: int | None = None

    @property
    def filename(self) -> str:
        """Reference and document kind only: nothing personal in a file name."""
        return f"{self.reference}-{KINDS[self.kind][1]}.pdf"

    @property
    def title(self) -> str:
        return pdf.metadata_title(self.reference, KINDS[self.kind][0])


# -- who may print what ------------------------------------------------------------------------


def may_print_referral(reader: User, referral: Referral) -> bool:
    """EOA staff and auditors print any referral packet; Conduct and UMPD only those of referrals to them."""
    if reader.role in RECEIVING_ROLE_OFFICE:
        return RECEIVING_ROLE_OFFICE[reader.role] == referral.office
    return reader.role in REFERRAL_ROLES


def printable_referrals(case: Case, reader: User) -> list[Referral]:
    """The referrals of the case whose packet the reader may print, newest first."""
    return _printable(case.referrals, reader)


def _printable(referrals: list, reader: User) -> list:
    return [r for r in reversed(referrals) if may_print_referral(reader, r)]


# The case page links each packet by the referral's id, office and date: plain rows, from a statement built once.
_REFERRAL_LINKS = (
    select(Referral.id, Referral.office, Referral.referred_at)
    .where(Referral.case_id == bindparam("case_id"))
    .order_by(Referral.id)
)


def choose_referral(case: Case, reader: User, referral_id: int | None) -> Referral | None:
    """The chosen referral of this case, or the latest one the reader may print; None when there is none."""
    if referral_id is None:
        referrals = printable_referrals(case, reader)
        return referrals[0] if referrals else None
    return next((r for r in case.referrals if r.id == referral_id), None)


@dataclass(frozen=True)
class AvailableDocuments:
    summary: bool
    referrals: list  # rows (id, office, referred_at), newest first; the first is the current one
    audit_history: bool

    def __bool__(self) -> bool:
        return self.summary or bool(self.referrals) or self.audit_history


def available_documents(case: Case, reader: User) -> AvailableDocuments:
    """The documents of this case the reader may print (for the links on the case page)."""
    return AvailableDocuments(
        summary=reader.role in SUMMARY_ROLES,
        referrals=_printable(db.session.execute(_REFERRAL_LINKS, {"case_id": case.id}).all(), reader)
        if reader.role in REFERRAL_ROLES
        else [],
        audit_history=reader.role in AUDIT_HISTORY_ROLES,
    )


# -- pieces of a context ------------------------------------------------------------------------


def _label(mapping: dict[str, str], value: str | None) -> str | None:
    return mapping.get(value, value) if value else None


def _state_label(workflow, status: str | None) -> str | None:
    if not status:
        return None
    try:
        return workflow.state_label(status)
    except WorkflowError:
        return status.replace("_", " ").capitalize()


def _trigger_label(workflow, trigger: str | None) -> str:
    try:
        return workflow.transition_label(trigger or "")
    except WorkflowError:
        return (trigger or "change").replace("_", " ").capitalize()


def _document_info(kind: str, reader: User) -> DocumentInfo:
    return DocumentInfo(
        kind=kind,
        title=KINDS[kind][0],
        generated_by=reader.display_name,
        generated_at_utc=datetime.now(UTC),
        timezone=current_app.config["TIMEZONE"],
    )


def _case_info(case: Case, workflow) -> CaseInfo:
    deadline = case.deadline_label.capitalize() if case.deadline_label else None
    return CaseInfo(
        reference=case.reference,
        state_label=_state_label(workflow, case.status) or "",
        office_label=OFFICE_SHORT.get(case.office, case.office),
        created_at=case.created_at,
        assignee=case.assignee.display_name if case.assignee else None,
        risk_level=_label(RISK_LEVELS, case.risk_level),
        due_on=case.due_on if not case.is_closed else None,
        deadline_label=deadline if not case.is_closed else None,
        closed_at=case.closed_at,
        disposition_label=_label(DISPOSITIONS, case.disposition),
        channel=_label(CHANNELS, case.channel),
        began_on=case.began_on,
        began_approximate=bool(case.began_approximate),
        ongoing=case.ongoing,
        connection=case.connection_details if case.connected_to_content else None,
        urgent=bool(case.urgent or case.in_danger),
    )


def _reporter(case: Case, show_identity: bool, audience_label: str) -> tuple[ReporterInfo | None, str | None]:
    if case.anonymous:
        return None, None
    if not show_identity:
        return None, f"the reporter did not consent to share their identity with {audience_label}."
    return (
        ReporterInfo(
            name=case.reporter_name,
            email=case.reporter_email,
            phone=case.reporter_phone,
            affiliation=_label(AFFILIATIONS, case.reporter_affiliation),
            contact_preference=_label(CONTACT_PREFERENCES, case.reporter_contact_preference),
        ),
        None,
    )


def _parties(case: Case) -> list[Party]:
    return [
        Party(
            kind=PARTY_KINDS.get(p.kind, p.kind),
            name=p.name,
            handle=p.handle,
            platform=_label(PLATFORMS, p.platform),
            affiliation=_label(AFFILIATIONS, p.affiliation),
            relationship=p.relationship_to_reporter,
        )
        for p in case.parties
    ]


def _with_other(mapping: dict[str, str], value: str, other_text: str | None) -> str:
    label = mapping.get(value, value)
    return f"{label}: {other_text}" if other_text else label


def make_thumbnail(evidence: Evidence) -> bytes | None:
    """A small JPEG of an image in evidence, re-encoded from the stored file without its metadata (EXIF, GPS).

    Pillow's decompression-bomb limit stays on and its warning counts as an error: an image too large to
    decode safely, or one that cannot be read, gets no thumbnail (the manifest still lists it and its hash).
    """
    if evidence.kind != "file" or not (evidence.media_type or "").startswith("image/"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with storage.open_file(evidence.storage_key) as handle, Image.open(handle, formats=THUMBNAIL_FORMATS) as im:
                im.draft("RGB", THUMBNAIL_SIZE)  # JPEG: decode at a reduced scale
                image = ImageOps.exif_transpose(im)  # keep the picture upright once EXIF is gone
                image.thumbnail(THUMBNAIL_SIZE)
                if image.mode in ("RGBA", "LA", "P"):
                    image = image.convert("RGBA")
                    flat = Image.new("RGB", image.size, (255, 255, 255))
                    flat.paste(image, mask=image.getchannel("A"))
                    image = flat
                else:
                    image = image.convert("RGB")
                out = io.BytesIO()
                image.save(out, "JPEG", quality=82, optimize=True)  # no exif= : nothing of the original's metadata
    except (Image.DecompressionBombWarning, Image.DecompressionBombError, UnidentifiedImageError, OSError, ValueError):
        return None
    data = out.getvalue()
    return data if len(data) <= pdf.MAX_THUMBNAIL_BYTES else None


def _evidence(case: Case, thumbnails: dict[str, bytes] | None) -> tuple[list[EvidenceItem], list[str]]:
    """The manifest of files (with thumbnails when a dict to fill is given) and the links, as typed."""
    items, links = [], []
    for e in case.evidence:
        if e.kind == "link":
            links.append(e.url)
            continue
        thumbnail_url = None
        if thumbnails is not None:
            data = make_thumbnail(e)
            if data is not None:
                thumbnails[str(e.id)] = data
                thumbnail_url = pdf.thumbnail_url(e.id)
        items.append(
            EvidenceItem(
                id=e.id,
                file_name=e.file_name or f"evidence-{e.id}",
                media_type=e.media_type or "application/octet-stream",
                size=e.size or 0,
                uploaded_at=e.created_at,
                sha256=e.sha256,
                thumbnail_url=thumbnail_url,
                description=e.description,
            )
        )
    return items, links


def _visibility_label(note: Note) -> str:
    if note.visibility == "shared":
        return "Shared"
    return f"Internal: {OFFICE_SHORT.get(note.office, note.office)}"


def _notes(notes: list[Note]) -> list[NoteLine]:
    return [
        NoteLine(at=n.created_at, author=n.author.display_name, visibility_label=_visibility_label(n), body=n.body)
        for n in notes
    ]


def _actor_name(event: CaseEvent) -> str:
    if event.actor is not None:
        return event.actor.display_name
    return "Reporter" if event.actor_kind == "reporter" else "System"


def _event_label(workflow, event: CaseEvent, note: Note | None, names: dict[int, str]) -> str:
    data = event.data or {}
    if event.kind == "transition":
        label = _trigger_label(workflow, event.trigger)
        extras = []
        if data.get("risk_level"):
            extras.append(f"risk {RISK_LEVELS.get(data['risk_level'], data['risk_level'])}")
        if data.get("disposition"):
            extras.append(DISPOSITIONS.get(data["disposition"], data["disposition"]))
        if data.get("office"):
            extras.append(f"now with {OFFICE_SHORT.get(data['office'], data['office'])}")
        if data.get("due_on"):
            extras.append(f"due {data['due_on']}")
        return " · ".join([label, *extras])
    if event.kind == "assignment":
        who = data.get("assignee_id")
        return f"Assigned to {names.get(who, 'a former colleague')}" if who else "Unassigned"
    if event.kind == "note" and note is not None:
        return f"Note ({_visibility_label(note).lower()})"
    if event.kind == "message":
        return "Reply sent to the reporter" if data.get("direction") == "to_reporter" else "Message from the reporter"
    if event.kind == "intake":
        return "Report received"
    return event.kind.replace("_", " ").capitalize()


def _timeline(case: Case, reader: User, workflow, note_ids: set[int] | None = None) -> list[TimelineEvent]:
    """The reader's timeline; with `note_ids`, note events of other notes are left out too."""
    entries = service.timeline(case, reader)
    if note_ids is not None:
        entries = [e for e in entries if e.note is None or e.note.id in note_ids]
    user_ids = {
        value
        for e in entries
        if e.event.kind == "assignment"
        for value in (e.event.data or {}).values()
        if isinstance(value, int)
    }
    names = {}
    if user_ids:
        names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
    return [
        TimelineEvent(
            at=e.event.created_at,
            actor=_actor_name(e.event),
            label=_event_label(workflow, e.event, e.note, names),
            from_state=_state_label(workflow, e.event.from_state) if e.event.kind == "transition" else None,
            to_state=_state_label(workflow, e.event.to_state) if e.event.kind == "transition" else None,
            reason=e.event.reason if e.event.kind == "transition" else None,
        )
        for e in entries
    ]


def _reader_audience(reader: User) -> str:
    if reader.role == "auditor":
        return "Auditor"
    office = reader.case_office
    return f"{OFFICE_SHORT.get(office, office)} (internal)" if office else reader.role_label


def _content_context(
    kind: str,
    case: Case,
    reader: User,
    *,
    audience: Audience,
    notes: list[Note],
    note_ids: set[int] | None,
    thumbnails: dict[str, bytes] | None,
    referral: ReferralInfo | None = None,
) -> PDFContext:
    workflow = flows.workflow_for(case)
    reporter, withheld = _reporter(case, audience.show_reporter_identity, audience.label)
    evidence, links = _evidence(case, thumbnails)
    return PDFContext(
        document=_document_info(kind, reader),
        case=_case_info(case, workflow),
        audience=audience,
        reporter=reporter,
        reporter_withheld_reason=withheld,
        narrative=case.narrative or "",
        parties=_parties(case),
        platforms=[_with_other(PLATFORMS, p.platform, p.other_text) for p in case.platforms],
        behaviours=[_with_other(BEHAVIOURS, b.behaviour, b.other_text) for b in case.behaviours],
        links=links,
        evidence=evidence,
        timeline=_timeline(case, reader, workflow, note_ids),
        notes=_notes(notes),
        referral=referral,
    )


# -- the three contexts -------------------------------------------------------------------------


def case_summary_context(case: Case, reader: User, thumbnails: dict[str, bytes] | None = None) -> PDFContext:
    """The case summary for the reader's own office (or an auditor); fills `thumbnails` when given one."""
    show = access.may_see_reporter_identity(reader, case)
    return _content_context(
        "case_summary",
        case,
        reader,
        audience=Audience(_reader_audience(reader), show_reporter_identity=show),
        notes=service.visible_notes(case, reader),
        note_ids=None,
        thumbnails=thumbnails,
    )


def _local_date(value: datetime):
    """The calendar date, where the offices are, of a naive-UTC time."""
    return local_time(value).date()


def acknowledge_by(case: Case, referral: Referral):
    """The date by which the receiving office must acknowledge the referral (None when the workflow sets none)."""
    workflow = flows.workflow_for(case)
    open_referral = referral.returned_at is None and referral.acknowledged_at is None
    if open_referral and case.status == f"referred_{referral.office}" and case.referrals[-1].id == referral.id:
        return case.due_on  # the live deadline of the case
    try:
        deadline = workflow.deadline_for(f"referred_{referral.office}")
    except WorkflowError:
        return None
    if deadline is None:
        return None
    return deadline.due(_local_date(referral.referred_at))


def referral_packet_context(
    case: Case, reader: User, referral: Referral, thumbnails: dict[str, bytes] | None = None
) -> PDFContext:
    """The packet for the office `referral` went to: identity only with the reporter's consent, and only
    notes that are shared or internal to the receiving office (and readable by the reader)."""
    office = referral.office
    notes = [n for n in service.visible_notes(case, reader) if n.visibility == "shared" or n.office == office]
    label = OFFICE_SHORT.get(office, office)
    show = bool(not case.anonymous and case.consent_share_identity and access.may_see_reporter_identity(reader, case))
    referred_by = db.session.get(User, referral.referred_by_id) if referral.referred_by_id else None
    info = ReferralInfo(
        office_label=OFFICES.get(office, office),
        reason=referral.reason,
        referred_at=referral.referred_at,
        acknowledge_by=acknowledge_by(case, referral),
        referred_by=referred_by.display_name if referred_by else None,
    )
    return _content_context(
        "referral_packet",
        case,
        reader,
        audience=Audience(label, show_reporter_identity=show),
        notes=notes,
        note_ids={n.id for n in notes},
        thumbnails=thumbnails,
        referral=info,
    )


def _details_text(details) -> str:
    parts = []
    for key in sorted(details or {}):
        value = details[key]
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        parts.append(f"{key}={value}")
    return " ".join(parts)


def audit_history_context(case: Case, reader: User) -> PDFContext:
    """The case's timeline and every audit entry of the case with its hashes, and the chain verified now."""
    workflow = flows.workflow_for(case)
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.case_id == case.id).order_by(AuditEntry.seq)))
    user_ids = {e.actor_id for e in entries if e.actor_kind == "user" and e.actor_id is not None}
    names = {}
    if user_ids:
        names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
    kinds = {"reporter": "Reporter", "system": "System", "anonymous": "Not signed in"}
    lines = [
        AuditLine(
            seq=e.seq,
            at=e.created_at,
            actor=names.get(e.actor_id, f"account #{e.actor_id}") if e.actor_kind == "user" else kinds[e.actor_kind],
            action=e.action,
            object=f"{e.object_type} {e.object_id}" if e.object_type else "—",
            details_text=_details_text(e.details),
            prev_hash=e.prev_hash,
            hash=e.hash,
        )
        for e in entries
    ]
    # The whole chain, as `flask audit verify` does: ~100,000+ entries/s (README, "Cost"), so a few seconds for
    # a million-entry trail, within the PDF time limit. Should trails grow far beyond that, print the latest
    # recorded `audit.verified` result (and its time) instead of verifying on every print.
    result = audit.verify()
    verification = Verification(
        ok=result.ok, checked=result.checked, message=result.message, first_bad_seq=result.first_bad_seq
    )
    return PDFContext(
        document=_document_info("audit_history", reader),
        # The reporter's own words about their connection stay out, like the account itself.
        case=dataclasses.replace(_case_info(case, workflow), connection=None),
        audience=Audience("Auditor"),
        timeline=_timeline(case, reader, workflow),
        audit_entries=lines,
        verification=verification,
    )


# -- documents: build, render, record -------------------------------------------------------------


def case_summary(case: Case, reader: User) -> Document:
    """The case summary, with its thumbnails, ready to render."""
    thumbnails: dict[str, bytes] = {}
    context = case_summary_context(case, reader, thumbnails)
    return Document("case_summary", case.id, case.reference, context, thumbnails)


def referral_packet(case: Case, reader: User, referral: Referral) -> Document:
    """The referral packet of `referral`, with its thumbnails, ready to render."""
    thumbnails: dict[str, bytes] = {}
    context = referral_packet_context(case, reader, referral, thumbnails)
    return Document("referral_packet", case.id, case.reference, context, thumbnails, referral_id=referral.id)


def audit_history(case: Case, reader: User) -> Document:
    """The audit history, ready to render."""
    return Document("audit_history", case.id, case.reference, audit_history_context(case, reader))


def render_document(document: Document) -> pdf.RenderedPDF:
    """Render within the PDF layer's limits; raises `pdf.PDFRenderError`."""
    return pdf.render_pdf(
        f"pdf/{document.kind}.html",
        document.context,
        title=document.title,
        author=pdf.PRODUCT,
        thumbnails=document.thumbnails,
    )


def _details(document: Document) -> dict:
    details: dict = {"kind": document.kind}
    if document.referral_id is not None:
        details["referral_id"] = document.referral_id
    return details


def record_generated(reader: User, document: Document, rendered: pdf.RenderedPDF) -> None:
    """Audit the generation (it counts as a view of the case) with the PDF's SHA-256, so a printed copy
    can later be matched to this entry."""
    audit.record(
        "pdf.generated",
        reader,
        case_id=document.case_id,
        object_type="case",
        object_id=document.case_id,
        details={**_details(document), "sha256": rendered.sha256, "pages": rendered.page_count},
    )


def record_failed(reader: User, document: Document) -> None:
    """Audit a generation that failed (the case was read to build it)."""
    audit.record(
        "pdf.failed", reader, case_id=document.case_id, object_type="case", object_id=document.case_id,
        details=_details(document),
    )  # fmt: skip
