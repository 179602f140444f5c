"""The plain-data context the PDF templates expect (no ORM objects, no Flask request).

Build a `PDFContext` from a case and hand it to `casework.pdf.render_pdf`. Every value is a
str, int, bool, `date` or `datetime`; nothing here is lazy, so rendering can never trigger a
database query. A plain dict with the same keys works too (Jinja reads keys and attributes
alike) but must then carry *every* key: the templates use `StrictUndefined`.

Datetimes: timezone-aware, or naive meaning UTC. The templates print them in
`document.timezone` with the zone's abbreviation; audit entries are printed in UTC.

What each template reads (besides `document`, `case`, `audience`, which all three read):

- ``pdf/case_summary.html``: reporter / reporter_withheld_reason, narrative, parties, platforms,
  behaviours, links, evidence, timeline, notes.
- ``pdf/referral_packet.html``: the same, plus ``referral`` (required).
- ``pdf/audit_history.html``: timeline, audit_entries, verification (required). It never prints
  the reporter, narrative, parties, links, evidence or notes.

Privacy is decided by the context builder (filter notes, pass ``reporter=None`` with a
``reporter_withheld_reason``); the templates *also* refuse to print reporter identity unless
``audience.show_reporter_identity`` is true.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

DOCUMENT_KINDS = ("case_summary", "referral_packet", "audit_history")


@dataclass(frozen=True)
class DocumentInfo:
    kind: str  # one of DOCUMENT_KINDS
    title: str  # "Case summary", "Referral packet", "Audit history"
    generated_by: str  # display name of the staff member printing it
    generated_at_utc: datetime  # aware (or naive = UTC)
    timezone: str = "UTC"  # IANA name of the office, e.g. "America/New_York"


@dataclass(frozen=True)
class CaseInfo:
    reference: str  # "OH-2026-00042"
    state_label: str  # "Referred to Student Conduct"
    office_label: str  # owning office: "EOA", "Student Conduct", "UMPD"
    created_at: datetime  # when the report was received
    assignee: str | None = None  # display name
    risk_level: str | None = None  # "Low" / "Medium" / "High" / "Critical"
    due_on: date | None = None  # the current deadline
    deadline_label: str | None = None  # what the deadline is for: "Triage", "Acknowledge referral"
    closed_at: datetime | None = None
    disposition_label: str | None = None
    channel: str | None = None  # "Web form", "Phone", "Walk-in"
    began_on: date | None = None  # when the harassment began
    began_approximate: bool = False
    ongoing: bool | None = None  # None = unknown
    connection: str | None = None  # reporter's connection to the university
    urgent: bool = False


@dataclass(frozen=True)
class ReporterInfo:
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    affiliation: str | None = None
    contact_preference: str | None = None


@dataclass(frozen=True)
class Audience:
    label: str  # who this copy is for: "EOA (internal)", "Student Conduct", "UMPD", "Auditor"
    show_reporter_identity: bool = False


@dataclass(frozen=True)
class Party:
    kind: str  # "Respondent", "Witness", "Other"
    name: str | None = None
    handle: str | None = None  # "@someone"
    platform: str | None = None
    affiliation: str | None = None
    relationship: str | None = None  # relationship to the reporter


@dataclass(frozen=True)
class EvidenceItem:
    id: str | int
    file_name: str
    media_type: str  # "image/png"
    size: int  # bytes
    uploaded_at: datetime
    sha256: str  # 64 lowercase hex digits
    thumbnail_url: str | None = None  # casework.pdf.thumbnail_url(id), with bytes passed to render_pdf
    description: str | None = None


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    actor: str  # display name, or "Reporter", "System"
    label: str  # the trigger's label: "Refer to Student Conduct"
    from_state: str | None = None  # state labels
    to_state: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Note:
    at: datetime
    author: str
    visibility_label: str  # "Internal", "Shared with Conduct"
    body: str


@dataclass(frozen=True)
class Referral:
    office_label: str  # receiving office
    reason: str
    referred_at: datetime
    acknowledge_by: date | datetime | None = None
    referred_by: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str  # display name or "system"
    action: str  # "case.transition"
    object: str  # "case 42", "evidence 7"
    details_text: str = ""  # ids and field names only (DESIGN rule 4)
    prev_hash: str = ""  # hex
    hash: str = ""  # hex


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int  # entries checked
    message: str  # "Chain intact", "Entry 118: hash mismatch"
    first_bad_seq: int | None = None


@dataclass(frozen=True)
class PDFContext:
    document: DocumentInfo
    case: CaseInfo
    audience: Audience
    reporter: ReporterInfo | None = None  # None: anonymous, or withheld (then say why below)
    reporter_withheld_reason: str | None = None  # "The reporter did not consent to share …"
    narrative: str = ""  # the reporter's account, plain text; paragraphs and line breaks kept
    parties: list[Party] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)  # labels
    behaviours: list[str] = field(default_factory=list)  # labels
    links: list[str] = field(default_factory=list)  # printed as text, never fetched
    evidence: list[EvidenceItem] = field(default_factory=list)
    timeline: list[TimelineEvent] = field(default_factory=list)
    notes: list[Note] | None = None  # None: no notes section at all; []: "no notes" line
    referral: Referral | None = None  # required by referral_packet
    audit_entries: list[AuditEntry] = field(default_factory=list)  # audit_history
    verification: Verification | None = None  # required by audit_history
