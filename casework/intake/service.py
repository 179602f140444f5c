"""Intake: turning a report into a case, and the reporter's follow-up portal.

Plain functions: they flush, never commit, and write their audit entries in the same
transaction. Evidence files land in storage only when that transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from casework import audit, storage, transactions
from casework.clock import local_today
from casework.extensions import db
from casework.flows import default_workflow, workflow_for
from casework.intake import keys
from casework.models import (
    Case,
    CaseBehaviour,
    CaseEvent,
    CasePlatform,
    Evidence,
    Message,
    Party,
    ReferenceCounter,
    ReporterKey,
    User,
    format_reference,
    utcnow,
)
from casework.normalize import normalize_handle

Actor = User | str

URGENT_BEHAVIOURS = frozenset({"threats"})
HANDLE_MAX = 200


@dataclass
class PartyData:
    kind: str = "respondent"
    name: str | None = None
    handle: str | None = None
    platform: str | None = None
    affiliation: str | None = None
    relationship: str | None = None


@dataclass
class EvidenceFile:
    """A file already checked and waiting (staged) to be kept with a case."""

    name: str
    path: Path


@dataclass
class ReportData:
    narrative: str
    anonymous: bool = True
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    affiliation: str | None = None
    contact_preference: str | None = None
    consent_share_identity: bool = False
    parties: list[PartyData] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    platform_other: str | None = None
    behaviours: list[str] = field(default_factory=list)
    behaviour_other: str | None = None
    began_on: date | None = None
    began_approximate: bool = False
    ongoing: bool | None = None
    connected_to_content: bool = False
    connection_details: str | None = None
    links: list[str] = field(default_factory=list)
    files: list[EvidenceFile] = field(default_factory=list)
    in_danger: bool = False


@dataclass(frozen=True)
class Receipt:
    """What the reporter is shown once: the reference and the follow-up key."""

    case: Case
    reference: str
    key: str


def next_reference(year: int) -> str:
    """Hand out the next reference of `year`, incremented atomically inside the transaction."""
    session = db.session
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(ReferenceCounter)
        .values(year=year, last_number=1)
        .on_conflict_do_update(
            index_elements=[ReferenceCounter.year], set_={"last_number": ReferenceCounter.last_number + 1}
        )
        .returning(ReferenceCounter.last_number)
    )
    number = session.execute(statement).scalar_one()
    return format_reference(year, number)


def _actor_fields(actor: Actor) -> tuple[str, int | None]:
    return ("user", actor.id) if isinstance(actor, User) else ("reporter", None)


def _add_file_evidence(case: Case, file: EvidenceFile, actor: Actor, description: str | None = None) -> Evidence:
    with open(file.path, "rb") as stream:
        stored = storage.save(stream, file.name, session=db.session)
    is_staff = isinstance(actor, User)
    evidence = Evidence(
        case_id=case.id,
        kind="file",
        file_name=file.name,
        media_type=stored.media_type,
        size=stored.size,
        sha256=stored.sha256,
        storage_key=stored.key,
        description=description,
        source="staff" if is_staff else "reporter",
        uploaded_by_id=actor.id if is_staff else None,
    )
    db.session.add(evidence)
    db.session.flush()
    audit.record(
        "evidence.uploaded",
        actor,
        case_id=case.id,
        object_type="evidence",
        object_id=evidence.id,
        details={"kind": "file", "sha256": stored.sha256, "size": stored.size, "media_type": stored.media_type},
    )
    return evidence


def _add_link_evidence(case: Case, url: str, actor: Actor) -> Evidence:
    is_staff = isinstance(actor, User)
    evidence = Evidence(
        case_id=case.id,
        kind="link",
        url=url,
        source="staff" if is_staff else "reporter",
        uploaded_by_id=actor.id if is_staff else None,
    )
    db.session.add(evidence)
    db.session.flush()
    audit.record("evidence.added", actor, case_id=case.id, object_type="evidence", object_id=evidence.id,
                 details={"kind": "link"})  # fmt: skip
    return evidence


def submit_report(report: ReportData, *, channel: str = "web", actor: Actor = "reporter") -> Receipt:
    """Open a case from a report in its workflow's initial state, with everything the reporter gave."""
    # The key's argon2 hash first: slow by design, it must not run while the transaction (on SQLite, the
    # database's write lock) is held.
    key = keys.generate_key()
    key_hash = keys.hash_key(key)
    workflow = default_workflow()
    today = local_today()
    deadline = workflow.deadline_for(workflow.initial)
    urgent = report.in_danger or bool(URGENT_BEHAVIOURS & set(report.behaviours))
    named = not report.anonymous
    case = Case(
        reference=next_reference(today.year),
        workflow_name=workflow.name,
        workflow_version=workflow.version,
        status=workflow.initial,
        office="eoa",
        urgent=urgent,
        in_danger=report.in_danger,
        anonymous=report.anonymous,
        reporter_name=report.name if named else None,
        reporter_email=report.email if named else None,
        reporter_phone=report.phone if named else None,
        reporter_affiliation=report.affiliation if named else None,
        reporter_contact_preference=report.contact_preference if named else None,
        consent_share_identity=report.consent_share_identity and named,
        narrative=report.narrative,
        began_on=report.began_on,
        began_approximate=report.began_approximate and report.began_on is not None,
        ongoing=report.ongoing,
        connected_to_content=report.connected_to_content,
        connection_details=report.connection_details,
        channel=channel,
        due_on=deadline.due(today) if deadline else None,
        deadline_label=deadline.label if deadline else None,
        created_by_id=actor.id if isinstance(actor, User) else None,
    )
    db.session.add(case)
    db.session.flush()

    for party in report.parties:
        normalized = normalize_handle(party.handle)
        db.session.add(
            Party(
                case_id=case.id,
                kind=party.kind,
                name=party.name,
                handle=party.handle,
                handle_normalized=normalized[:HANDLE_MAX] if normalized else None,
                platform=party.platform,
                affiliation=party.affiliation,
                relationship_to_reporter=party.relationship,
            )
        )
    for platform in dict.fromkeys(report.platforms):
        other = report.platform_other if platform == "other" else None
        db.session.add(CasePlatform(case_id=case.id, platform=platform, other_text=other))
    for behaviour in dict.fromkeys(report.behaviours):
        other = report.behaviour_other if behaviour == "other" else None
        db.session.add(CaseBehaviour(case_id=case.id, behaviour=behaviour, other_text=other))

    db.session.add(ReporterKey(case_id=case.id, key_hash=key_hash))

    actor_kind, actor_id = _actor_fields(actor)
    db.session.add(
        CaseEvent(
            case_id=case.id,
            kind="intake",
            to_state=case.status,
            actor_kind=actor_kind,
            actor_id=actor_id,
            data={"channel": channel, "files": len(report.files), "links": len(report.links), "urgent": urgent},
        )
    )
    audit.record(
        "case.created",
        actor,
        case_id=case.id,
        object_type="case",
        object_id=case.id,
        details={
            "channel": channel,
            "anonymous": report.anonymous,
            "urgent": urgent,
            "workflow": workflow.name,
            "workflow_version": workflow.version,
            "parties": len(report.parties),
        },
    )
    for file in report.files:
        _add_file_evidence(case, file, actor)
    for url in report.links:
        _add_link_evidence(case, url, actor)
    db.session.flush()
    return Receipt(case=case, reference=case.reference, key=key)


# -- the follow-up portal ------------------------------------------------------------------


def open_follow_up(reference: str | None, key: str | None) -> Case | None:
    """The case a reference and key open, or None; the cost is the same whether the reference exists or not."""
    reference = (reference or "").strip().upper()[:20]
    row = db.session.execute(
        select(Case, ReporterKey)
        .join(ReporterKey, ReporterKey.case_id == Case.id)
        .where(Case.reference == reference, Case.purged_at.is_(None))
    ).first()
    if row is None:
        keys.verify_key(keys.dummy_hash(), key)
        return None
    case, reporter_key = row
    if not keys.verify_key(reporter_key.key_hash, key):
        return None
    reporter_key.last_used_at = utcnow()
    db.session.flush()
    return case


def reporter_case(case_id: int) -> Case | None:
    """The case a reporter's portal session is for (None once purged)."""
    case = db.session.get(Case, case_id)
    return case if case is not None and case.purged_at is None else None


@dataclass(frozen=True)
class PortalView:
    reference: str
    public_status: str
    messages: list[Message]
    evidence_count: int
    created_at: datetime


def visit_follow_up(case: Case) -> PortalView:
    """What the reporter sees: a coarse status and the thread; staff messages are now read."""
    messages = list(
        db.session.scalars(select(Message).where(Message.case_id == case.id).order_by(Message.created_at, Message.id))
    )
    newly_read = [m.id for m in messages if m.direction == "to_reporter" and m.read_at is None]
    case_id = case.id

    def mark(session) -> None:
        if newly_read:
            session.execute(
                update(Message)
                .where(Message.id.in_(newly_read), Message.read_at.is_(None))
                .values(read_at=utcnow())
                .execution_options(synchronize_session=False)
            )
        audit.record("reporter.visit", "reporter", case_id=case_id, object_type="case", object_id=case_id,
                     details={"messages_read": len(newly_read)})  # fmt: skip

    # A GET of the portal is a read request: on SQLite the marking runs after its read transaction.
    transactions.after_read(db.session, mark)
    return PortalView(
        reference=case.reference,
        public_status=workflow_for(case).public_status(case.status),
        messages=messages,
        evidence_count=db.session.scalar(
            select(func.count()).select_from(Evidence).where(Evidence.case_id == case.id, Evidence.source == "reporter")
        ),
        created_at=case.created_at,
    )


def add_reporter_information(
    case: Case, *, message: str | None, files: list[EvidenceFile], links: list[str]
) -> Message | None:
    """A message and/or more evidence from the reporter, on the case timeline and in the audit trail."""
    posted = None
    if message:
        posted = Message(case_id=case.id, direction="from_reporter", body=message)
        db.session.add(posted)
        db.session.flush()
        audit.record("message.from_reporter", "reporter", case_id=case.id, object_type="message", object_id=posted.id)
        event = CaseEvent(case_id=case.id, kind="message", actor_kind="reporter", data={"message_id": posted.id})
        db.session.add(event)
    for file in files:
        _add_file_evidence(case, file, "reporter")
    for url in links:
        _add_link_evidence(case, url, "reporter")
    if files or links:
        db.session.add(
            CaseEvent(
                case_id=case.id, kind="evidence", actor_kind="reporter", data={"files": len(files), "links": len(links)}
            )  # fmt: skip
        )
    db.session.flush()
    return posted
