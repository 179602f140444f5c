"""Plain-data PDF contexts for the tests and the benchmark: a typical case and a huge one."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date, datetime, timedelta

from casework.pdf import thumbnail_url
from casework.pdf_context import (
    Audience,
    AuditEntry,
    CaseInfo,
    DocumentInfo,
    EvidenceItem,
    Note,
    Party,
    PDFContext,
    Referral,
    ReporterInfo,
    TimelineEvent,
    Verification,
)

T0 = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
REFERENCE = "OH-2026-00042"

NARRATIVE = """Since the start of February an account called @night_owl_77 has been replying to almost \
every post I make on Instagram with comments about my appearance and where I live. I blocked it on \
8 February; two new accounts appeared the next day with the same profile picture.

On 14 February someone posted a screenshot of my class schedule in the "UMD Confessions" group with the \
caption "you know where to find her". Several people I do not know commented.
I reported the post to Instagram and it was taken down two days later, but copies are still circulating.

I think the person behind this is a student in my lab section, because the comments mention things said \
only in that room. I am afraid to go to the lab and have missed two sessions.

Links: https://www.instagram.com/p/C3xYz0aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdefghijklmnopqrstuvwxyz/?\
igsh=MzRlODBiNWFlZA%3D%3D&utm_source=ig_web_copy_link"""


def _sha(i: int) -> str:
    return hashlib.sha256(f"evidence-{i}".encode()).hexdigest()


def make_thumbnail(color=(47, 93, 143)) -> bytes:
    """A small PNG, as our upload pipeline would generate."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (96, 72), color).save(buf, "PNG")
    return buf.getvalue()


def document(kind: str = "case_summary", title: str = "Case summary") -> DocumentInfo:
    return DocumentInfo(kind, title, "Dana Whitfield", T0 + timedelta(days=9, hours=3), "America/New_York")


def case_info(**overrides) -> CaseInfo:
    values = dict(
        reference=REFERENCE,
        state_label="Under investigation",
        office_label="EOA",
        created_at=T0,
        assignee="Dana Whitfield",
        risk_level="High",
        due_on=date(2026, 3, 20),
        deadline_label="Investigation report",
        channel="Web form",
        began_on=date(2026, 2, 1),
        began_approximate=True,
        ongoing=True,
        connection="Undergraduate student",
        urgent=True,
    )
    values.update(overrides)
    return CaseInfo(**values)


def reporter() -> ReporterInfo:
    return ReporterInfo(
        name="Maya Okonkwo-Lindqvist",
        email="maya.ol@terpmail.example.edu",
        phone="+1 301 555 0142",
        affiliation="Undergraduate, Biology",
        contact_preference="Email",
    )


def parties() -> list[Party]:
    return [
        Party("Respondent", "Unknown", "@night_owl_77", "Instagram", None, "Unknown"),
        Party("Respondent", "Jordan Pike", "@jpike", "Instagram", "Undergraduate, Biology", "Lab partner"),
        Party("Witness", "Sam Rivera", None, None, "Teaching assistant, BSCI 330", "Teaching assistant"),
    ]


def evidence(n: int = 6, with_thumbnails: bool = True) -> list[EvidenceItem]:
    kinds = [("image/png", "screenshot-comment-{}.png"), ("application/pdf", "instagram-report-{}.pdf")]
    items = []
    for i in range(1, n + 1):
        media_type, name = kinds[i % 2]
        items.append(
            EvidenceItem(
                id=i,
                file_name=name.format(i),
                media_type=media_type,
                size=48_213 * i + 17,
                uploaded_at=T0 + timedelta(hours=i),
                sha256=_sha(i),
                thumbnail_url=thumbnail_url(i) if with_thumbnails and media_type.startswith("image/") else None,
                description="Screenshot of comment" if media_type.startswith("image/") else None,
            )
        )
    return items


def thumbnails_for(items: list[EvidenceItem]) -> dict[str, bytes]:
    png = make_thumbnail()
    return {str(e.id): png for e in items if e.thumbnail_url}


def timeline(n: int = 8) -> list[TimelineEvent]:
    steps = [
        ("Report received", None, "Received", "Reporter", None),
        ("Triage", "Received", "Triaged", "Alex Chen", "Risk high: location disclosed"),
        ("Assign", "Triaged", "Triaged", "Alex Chen", "Assigned to Dana Whitfield"),
        ("Start investigation", "Triaged", "Under investigation", "Dana Whitfield", None),
        ("Evidence added", None, None, "Dana Whitfield", "3 screenshots"),
        (
            "Deadline extended",
            "Under investigation",
            "Under investigation",
            "Dana Whitfield",
            "Waiting for Instagram",
        ),
        ("Interview scheduled", None, None, "Dana Whitfield", None),
        ("Note added", None, None, "Alex Chen", None),
    ]
    return [
        TimelineEvent(T0 + timedelta(hours=5 * i), actor, label, frm, to, reason)
        for i, (label, frm, to, actor, reason) in ((i, steps[i % len(steps)]) for i in range(n))
    ]


def notes() -> list[Note]:
    return [
        Note(
            T0 + timedelta(days=1),
            "Alex Chen",
            "Internal",
            "Reporter prefers email.\nDo not call before 10 am.",
        ),
        Note(T0 + timedelta(days=3), "Dana Whitfield", "Internal", "TA confirms remarks in lab on 12 Feb."),
    ]


def audit_entries(n: int = 12) -> list[AuditEntry]:
    entries, prev = [], "0" * 64
    actions = ["case.view", "case.transition", "evidence.add", "note.add", "case.assign"]
    for i in range(1, n + 1):
        h = hashlib.sha256(f"{prev}{i}".encode()).hexdigest()
        entries.append(
            AuditEntry(
                i,
                T0 + timedelta(minutes=37 * i),
                "Dana Whitfield",
                actions[i % 5],
                "case 42",
                f"fields: status, due_on; version {i}",
                prev,
                h,
            )
        )
        prev = h
    return entries


def typical_context(**overrides) -> PDFContext:
    """A typical case summary for the EOA: about three pages."""
    ev = evidence(6)
    values = dict(
        document=document(),
        case=case_info(),
        audience=Audience("EOA (internal)", show_reporter_identity=True),
        reporter=reporter(),
        narrative=NARRATIVE,
        parties=parties(),
        platforms=["Instagram", "Discord", "Messaging app"],
        behaviours=[
            "Repeated unwanted contact",
            "Comments on appearance",
            "Disclosure of location (doxxing)",
        ],
        links=[
            "https://www.instagram.com/night_owl_77/",
            "https://discord.com/channels/123456789012345678/987654321098765432/112233445566778899",
        ],
        evidence=ev,
        timeline=timeline(14),
        notes=notes(),
    )
    values.update(overrides)
    return PDFContext(**values)


def referral_context(consent: bool, **overrides) -> PDFContext:
    values = dict(
        document=document("referral_packet", "Referral packet"),
        case=case_info(state_label="Referred to Student Conduct"),
        audience=Audience("Student Conduct", show_reporter_identity=consent),
        reporter=reporter() if consent else None,
        reporter_withheld_reason=None if consent else "the reporter did not consent to share their identity.",
        notes=None,
        referral=Referral(
            "Student Conduct",
            "Respondent is a student; conduct code 4.2 (harassment).",
            T0 + timedelta(days=8),
            date(2026, 3, 17),
            "Dana Whitfield",
        ),
    )
    values.update(overrides)
    return typical_context(**values)


def audit_context(ok: bool = True, n: int = 12) -> PDFContext:
    return typical_context(
        document=document("audit_history", "Audit history"),
        audience=Audience("Auditor"),
        audit_entries=audit_entries(n),
        verification=Verification(
            ok, n, "Chain intact" if ok else "Entry 7: hash does not match its content", None if ok else 7
        ),
    )


def huge_context() -> PDFContext:
    """1,000 timeline events, 100 evidence items, a 20,000-character narrative."""
    para = NARRATIVE.split("\n\n")[0] + "\n\n"
    narrative = (para * (20_000 // len(para) + 1))[:20_000]
    return typical_context(narrative=narrative, evidence=evidence(100), timeline=timeline(1000))
