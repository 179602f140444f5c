"""Case work: transitions (the one door for changing state), assignment, notes, the reporter thread.

Plain functions taking models and an actor. They flush, never commit, and write the audit entry in
the same transaction as the change (DESIGN.md rule 2). Reads for queues live in ``queries.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Executable, bindparam, exists, func, literal, or_, select, true, union_all, update
from sqlalchemy import case as sql_case
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from casework import access, audit, flows, transactions
from casework.cases.queries import CLOSED_STATE, kept_statement
from casework.clock import local_today
from casework.extensions import db
from casework.models import (
    Case,
    CaseBehaviour,
    CaseEvent,
    CasePlatform,
    Evidence,
    Message,
    Note,
    Party,
    Recusal,
    Referral,
    User,
    utcnow,
)
from casework.vocabulary import CASE_ROLES, NOTE_VISIBILITIES
from workflows import TransitionRefused, Workflow, WorkflowError

TRIAGED_STATE = "triaged"
VERSIONED_EVENT_KINDS = ("transition", "assignment")  # the events that change the case row (and its version)
MAX_NOTE_LENGTH = 20_000
MAX_MESSAGE_LENGTH = 10_000


class StaleCase(Exception):
    """The case changed since the user loaded it (another user was first)."""

    def __init__(self, case_id: int, expected_version: int | None) -> None:
        super().__init__("The case was changed by someone else after you loaded it.")
        self.case_id = case_id
        self.expected_version = expected_version


class ActionForbidden(TransitionRefused):
    """The actor may not take this action on this case at all (role, office or access)."""


class CaseActionRefused(Exception):
    """An assignment, note or message that cannot be made; ``field`` names the form field concerned."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def facts_for(case: Case) -> dict[str, Any]:
    """The facts the workflow's guards read, built from the case."""
    return {
        "urgent": bool(case.urgent or case.in_danger),
        "risk_level": case.risk_level,
        "respondent_affiliations": [p.affiliation or "unknown" for p in case.parties if p.kind == "respondent"],
        "acknowledged": case.acknowledged_at is not None,
    }


def _lock_for_change(case: Case) -> None:
    """Re-read the case row under a lock on PostgreSQL, so a concurrent change is seen, not overwritten.

    Called before anything else in the transaction takes a lock (the audit append lock in
    particular): taking them in a different order in two requests would deadlock.
    SQLite needs nothing here: every write transaction begins IMMEDIATE and holds the database.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.refresh(case, with_for_update=True)


def _check_version(case: Case, expected_version: int | None) -> None:
    if expected_version is None or case.version != expected_version:
        raise StaleCase(case.id, expected_version)


def _flush_or_stale(case: Case, expected_version: int | None) -> None:
    """Flush; the ORM's version check (``UPDATE … WHERE version = …``) turns a lost race into StaleCase."""
    case_id = case.id  # read before the flush: after a failed flush the session answers nothing
    try:
        db.session.flush()
    except StaleDataError:
        raise StaleCase(case_id, expected_version) from None


def _require_worker(case: Case, actor: User, what: str) -> None:
    if not access.may_change(actor) or not access.can_see(actor, case):
        raise CaseActionRefused(f"Your role may not {what} on this case.")


def _current_referral(case: Case, office: str) -> Referral | None:
    """The open referral to `office` (the office that held the case before this change)."""
    open_referrals = [r for r in case.referrals if r.office == office and r.returned_at is None]
    return open_referrals[-1] if open_referrals else None


def transition(
    case: Case,
    trigger: str,
    actor: User,
    data: Mapping[str, Any] | None,
    expected_version: int | None,
) -> CaseEvent:
    """Fire ``trigger`` on the case for ``actor``: state, office, referral, deadline, timeline and audit."""
    _lock_for_change(case)
    workflow = flows.workflow_for(case)
    if not access.may_change(actor) or not access.can_see(actor, case):
        raise ActionForbidden(f"Your role may not use “{_label(workflow, trigger)}” on this case.")
    _check_version(case, expected_version)
    spec = workflow.spec_for(case.status, trigger) if trigger in workflow.triggers else None
    if spec is not None and actor.role not in spec.roles:
        raise ActionForbidden(f"Your role may not use “{spec.label}” on this case.")
    fired = workflow.fire(case.status, trigger, actor.role, facts_for(case), data)

    # One UPDATE of the case row: a lazy load in between must not autoflush half the change (each
    # flush bumps the version) nor meet a lost race outside _flush_or_stale.
    with db.session.no_autoflush:
        now = utcnow()
        spec, cleaned = fired.spec, fired.data
        source, holding_office = case.status, case.office
        case.status = fired.dest
        event_data: dict[str, Any] = {f.name: cleaned[f.name] for f in spec.fields if f.kind == "choice"}
        audit_details: dict[str, Any] = {
            "trigger": trigger,
            "from": source,
            "to": fired.dest,
            "fields": [f.name for f in spec.fields if cleaned.get(f.name)],
        }
        reason = "\n\n".join(cleaned[f.name] for f in spec.fields if f.kind != "choice" and cleaned.get(f.name)) or None

        if fired.sets_office is not None:
            if fired.sets_office != case.office:
                event_data["office"] = audit_details["office"] = fired.sets_office
            case.office = fired.sets_office
            if case.assignee is not None and case.assignee.case_office != case.office:
                case.assignee_id = None
                case.assignee = None
                audit_details["assignee_cleared"] = True
        if spec.refers:
            case.refer(
                Referral(
                    office=fired.sets_office,
                    reason=cleaned.get("reason") or spec.label,
                    referred_by_id=actor.id,
                    referred_at=now,
                )
            )
            case.acknowledged_at = None
        if trigger == "acknowledge":
            case.acknowledged_at = now
            referral = _current_referral(case, holding_office)
            if referral is not None:
                referral.acknowledged_at = now
                referral.acknowledged_by_id = actor.id
        if trigger == "return_to_triage":
            referral = _current_referral(case, holding_office)
            if referral is not None:
                referral.returned_at = now
            case.acknowledged_at = None
        if "risk_level" in cleaned and cleaned["risk_level"]:
            case.risk_level = cleaned["risk_level"]
        if fired.dest == TRIAGED_STATE and case.triaged_at is None:
            case.triaged_at = now
        if fired.dest == CLOSED_STATE and source != CLOSED_STATE:
            case.disposition = cleaned.get("disposition") or None
            case.closing_summary = cleaned.get("closing_summary") or None
            case.closed_at = now
        elif source == CLOSED_STATE and fired.dest != CLOSED_STATE:
            case.disposition = None
            case.closing_summary = None
            case.closed_at = None
            case.acknowledged_at = None
        if fired.deadline_changed:
            if fired.deadline is None:
                case.due_on, case.deadline_label = None, None
            else:
                case.due_on = fired.deadline.due(local_today())
                case.deadline_label = fired.deadline.label
            event_data["due_on"] = case.due_on.isoformat() if case.due_on else None

        event = CaseEvent(
            kind="transition",
            trigger=trigger,
            from_state=source,
            to_state=fired.dest,
            actor_kind="user",
            actor_id=actor.id,
            reason=reason,
            data=event_data,
            created_at=now,
        )
        case.events.append(event)
    _flush_or_stale(case, expected_version)
    audit.record(
        "case.transition", actor, case_id=case.id, object_type="case", object_id=case.id, details=audit_details
    )
    return event


def _label(workflow: Workflow, trigger: str) -> str:
    try:
        return workflow.transition_label(trigger)
    except WorkflowError:  # an unknown trigger: the engine words the refusal
        return trigger


def last_change(case: Case) -> CaseEvent | None:
    """The most recent change of the case itself (a transition or an assignment): who, and when."""
    query = (
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind.in_(VERSIONED_EVENT_KINDS))
        .order_by(CaseEvent.created_at.desc(), CaseEvent.id.desc())
        .limit(1)
    )
    return db.session.execute(query).scalar_one_or_none()


# -- assignment ------------------------------------------------------------------------------


class Candidate(NamedTuple):
    """Someone a case may be assigned to."""

    id: int
    display_name: str


# Built once (the case and its office are parameters): the case page asks on every view.
_ASSIGNABLE = (
    select(User.id, User.display_name)
    .where(
        User.active.is_(True),
        User.role.in_(CASE_ROLES),
        User.case_office == bindparam("office"),
        ~exists().where(Recusal.case_id == bindparam("case_id"), Recusal.user_id == User.id),
    )
    .order_by(User.display_name, User.id)
)


def assignable_users(case: Case) -> list[Candidate]:
    """Active case workers of the office that holds the case, not recused from it."""
    return [Candidate(*row) for row in db.session.execute(_ASSIGNABLE, {"case_id": case.id, "office": case.office})]


def may_assign(actor: User, case: Case) -> bool:
    """Intake assigns any case; other case workers assign the cases of their own office."""
    return access.may_change(actor) and (actor.role == "intake" or actor.case_office == case.office)


def assign(case: Case, assignee: User | None, actor: User, expected_version: int | None) -> CaseEvent:
    """Assign the case to a member of its owning office (or unassign it); timeline and audit."""
    _lock_for_change(case)
    if not may_assign(actor, case) or not access.can_see(actor, case):
        raise CaseActionRefused("Your role may not assign this case.")
    _check_version(case, expected_version)
    if assignee is not None and assignee.id not in {candidate.id for candidate in assignable_users(case)}:
        raise CaseActionRefused("Choose an active member of the office that holds the case.", "assignee")
    previous = case.assignee_id
    new = assignee.id if assignee is not None else None
    if previous == new:
        raise CaseActionRefused("The case is already assigned that way.", "assignee")
    with db.session.no_autoflush:
        case.assignee_id = new
        case.assignee = assignee
        event = CaseEvent(
            kind="assignment",
            actor_kind="user",
            actor_id=actor.id,
            data={"assignee_id": new, "previous_assignee_id": previous},
            created_at=utcnow(),
        )
        case.events.append(event)
    _flush_or_stale(case, expected_version)
    audit.record(
        "case.assign",
        actor,
        case_id=case.id,
        object_type="case",
        object_id=case.id,
        details={"assignee_id": new, "previous_assignee_id": previous},
    )
    return event


# -- notes -----------------------------------------------------------------------------------


def add_note(case: Case, actor: User, body: str, visibility: str) -> Note:
    """A note internal to the author's office, or shared with every office that holds the case."""
    _require_worker(case, actor, "add notes")
    office = actor.case_office
    if office is None:
        raise CaseActionRefused("Only staff of an office can write notes.")
    if visibility not in NOTE_VISIBILITIES:
        raise CaseActionRefused("Choose who may read the note.", "visibility")
    body = (body or "").strip()
    if not body:
        raise CaseActionRefused("Write the note first.", "body")
    if len(body) > MAX_NOTE_LENGTH:
        raise CaseActionRefused(f"Please keep a note under {MAX_NOTE_LENGTH:,} characters.", "body")
    now = utcnow()
    note = Note(case_id=case.id, author_id=actor.id, office=office, visibility=visibility, body=body, created_at=now)
    db.session.add(note)
    db.session.flush()
    db.session.add(
        CaseEvent(
            case_id=case.id,
            kind="note",
            actor_kind="user",
            actor_id=actor.id,
            data={"note_id": note.id, "visibility": visibility, "office": office},
            created_at=now,
        )
    )
    db.session.flush()
    audit.record(
        "note.add",
        actor,
        case_id=case.id,
        object_type="note",
        object_id=note.id,
        details={"visibility": visibility, "office": office},
    )
    return note


def _note_visible_clause(reader: User):
    if reader.role == "auditor":
        return true()  # auditors read every case's whole record
    clauses = [Note.visibility == "shared"]
    if reader.case_office is not None:
        clauses.append(Note.office == reader.case_office)
    return or_(*clauses)


def visible_notes(case: Case, reader: User) -> list[Note]:
    """Shared notes and the reader's own office's internal notes (auditors: all), oldest first."""
    query = (
        select(Note)
        .where(Note.case_id == case.id, _note_visible_clause(reader))
        .options(joinedload(Note.author))
        .order_by(Note.created_at, Note.id)
    )
    return list(db.session.scalars(query))


@dataclass
class TimelineEntry:
    event: CaseEvent
    note: Note | None = None


_EVENTS = (  # built once: the case is a parameter
    select(CaseEvent)
    .where(CaseEvent.case_id == bindparam("case_id"))
    .options(joinedload(CaseEvent.actor))
    .order_by(CaseEvent.created_at, CaseEvent.id)
)


def timeline(case: Case, reader: User) -> list[TimelineEntry]:
    """Every transition, assignment, note and message event, oldest first; unreadable notes left out."""
    events = list(db.session.scalars(_EVENTS, {"case_id": case.id}))
    # Only the notes the events name, and no query at all on a case without notes.
    note_ids = {(event.data or {}).get("note_id") for event in events if event.kind == "note"}
    note_ids = {note_id for note_id in note_ids if isinstance(note_id, int)}
    notes = {}
    if note_ids:
        readable = select(Note).where(Note.case_id == case.id, Note.id.in_(note_ids), _note_visible_clause(reader))
        notes = {note.id: note for note in db.session.scalars(readable)}
    entries = []
    for event in events:
        if event.kind == "note":
            note = notes.get((event.data or {}).get("note_id"))
            if note is None:
                continue
            entries.append(TimelineEntry(event, note))
        else:
            entries.append(TimelineEntry(event))
    return entries


# Built once: the values are parameters (building a statement costs more than running one this small).
_PLATFORMS_AND_BEHAVIOURS = union_all(
    *(
        select(literal(name).label("list"), model.id, value.label("value"), model.other_text).where(
            model.case_id == bindparam("case_id")
        )
        for name, model, value in (
            ("platform", CasePlatform, CasePlatform.platform),
            ("behaviour", CaseBehaviour, CaseBehaviour.behaviour),
        )
    )
)


def platforms_and_behaviours(case: Case) -> tuple[list, list]:
    """The case's platforms and behaviours as (value, other_text) rows in the order entered: one statement."""
    rows = sorted(db.session.execute(_PLATFORMS_AND_BEHAVIOURS, {"case_id": case.id}).all(), key=lambda row: row.id)
    return [row for row in rows if row.list == "platform"], [row for row in rows if row.list == "behaviour"]


# The case page reads its evidence and its reporter thread as plain rows (the case's relationships would build
# an ORM object per row and a loader per relationship), from statements built once, the case a parameter.
_EVIDENCE_ROWS = (
    select(
        Evidence.id,
        Evidence.kind,
        Evidence.url,
        Evidence.file_name,
        Evidence.size,
        Evidence.description,
        Evidence.sha256,
        Evidence.source,
        Evidence.created_at,
    )
    .where(Evidence.case_id == bindparam("case_id"))
    .order_by(Evidence.id)
)


def evidence_rows(case: Case) -> list:
    """The case's evidence in the order received, as plain rows (the case page's table)."""
    return db.session.execute(_EVIDENCE_ROWS, {"case_id": case.id}).all()


# -- the reporter thread ---------------------------------------------------------------------


def post_staff_message(case: Case, actor: User, body: str) -> Message:
    """A reply to the reporter in the follow-up portal thread; audited without its text."""
    _require_worker(case, actor, "write to the reporter")
    body = (body or "").strip()
    if not body:
        raise CaseActionRefused("Write the message first.", "body")
    if len(body) > MAX_MESSAGE_LENGTH:
        raise CaseActionRefused(f"Please keep a message under {MAX_MESSAGE_LENGTH:,} characters.", "body")
    now = utcnow()
    message = Message(case_id=case.id, direction="to_reporter", author_id=actor.id, body=body, created_at=now)
    db.session.add(message)
    db.session.flush()
    db.session.add(
        CaseEvent(
            case_id=case.id,
            kind="message",
            actor_kind="user",
            actor_id=actor.id,
            data={"message_id": message.id, "direction": "to_reporter"},
            created_at=now,
        )
    )
    db.session.flush()
    audit.record("message.to_reporter", actor, case_id=case.id, object_type="message", object_id=message.id)
    return message


_THREAD = (
    select(
        Message.id,
        Message.direction,
        Message.body,
        Message.created_at,
        Message.read_at,
        Message.author_id,
        User.display_name.label("author_name"),
    )
    .outerjoin(User, User.id == Message.author_id)
    .where(Message.case_id == bindparam("case_id"))
    .order_by(Message.id)
)


def reporter_thread(case: Case) -> list:
    """The messages with the reporter, oldest first, as plain rows with their author's name."""
    return db.session.execute(_THREAD, {"case_id": case.id}).all()


def mark_reporter_messages_read(case: Case, reader: User, thread: list) -> int:
    """Mark the reporter's unread messages of `thread` (reporter_thread) read when a case worker opens it;
    returns how many."""
    if not access.may_change(reader):
        return 0  # an auditor's look is not the office reading its mail
    unread = [m for m in thread if m.direction == "from_reporter" and m.read_at is None]
    if not unread:
        return 0
    ids, case_id = [m.id for m in unread], case.id

    def mark(session) -> None:
        session.execute(
            update(Message)
            .where(Message.id.in_(ids), Message.read_at.is_(None))
            .values(read_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        audit.record(
            "message.read", reader, case_id=case_id, object_type="case", object_id=case_id, details={"message_ids": ids}
        )

    # Opening the case page is a read request: on SQLite the marking runs after its read transaction.
    transactions.after_read(db.session, mark)
    return len(unread)


# -- related cases ---------------------------------------------------------------------------


@dataclass
class Related:
    """Other cases in which a respondent's account (normalised handle on a platform) appears."""

    party: Party
    count: int
    visible: list = field(default_factory=list)  # the newest RELATED_SHOWN openable: rows (reference, status, due_on)
    visible_count: int | None = None  # how many the reader may open (defaults to len(visible))

    @property
    def hidden_count(self) -> int:
        return self.count - self.openable_count

    @property
    def openable_count(self) -> int:
        return len(self.visible) if self.visible_count is None else self.visible_count

    @property
    def more_count(self) -> int:
        """Openable cases not linked on the page (only the newest RELATED_SHOWN are)."""
        return self.openable_count - len(self.visible)


RELATED_SHOWN = 10  # an account named in hundreds of cases must not turn the case page into a list page


def _naming_account(reader: User, index: int, platform_known: bool):
    """The other cases naming account `index` (parameters handle_<index>, platform_<index>, case_id): their count,
    the reader's openable count and the newest RELATED_SHOWN of them, openable first. The rows the page does not
    show never leave the database.

    The cases are selected once (a CTE, used three times, which both databases materialise) and counted from
    there: window functions over the same rows cost SQLite twice as much.
    """
    naming = select(Party.case_id).where(
        Party.handle_normalized == bindparam(f"handle_{index}"),
        Party.platform == bindparam(f"platform_{index}") if platform_known else Party.platform.is_(None),
        Party.kind == "respondent",
        Party.case_id != bindparam("case_id"),
    )
    openable = sql_case((access.visibility_clause(reader), 1), else_=0).label("openable")
    cases = (
        select(Case.id, Case.reference, Case.status, Case.due_on, Case.created_at, openable)
        .where(Case.id.in_(naming), access.not_recused(reader))
        .cte(f"naming_account_{index}")
    )
    return (
        select(
            literal(index).label("account"),
            *cases.c,
            select(func.count()).select_from(cases).scalar_subquery().label("total"),
            select(func.sum(cases.c.openable)).scalar_subquery().label("openable_count"),
        )
        .order_by(cases.c.openable.desc(), cases.c.created_at.desc(), cases.c.id)
        .limit(RELATED_SHOWN)
    )


def _related_query(reader: User, platforms_known: tuple[bool, ...]) -> Executable:
    """The related-cases statement for this reader and this shape of accounts, kept: its values are parameters,
    and building it costs more than running it."""

    def build() -> Executable:
        parts = [_naming_account(reader, index, known) for index, known in enumerate(platforms_known)]
        return parts[0] if len(parts) == 1 else union_all(*(select(part.subquery()) for part in parts))

    key = ("related cases", reader.id, reader.role, reader.active, platforms_known)
    return kept_statement(key, build)


def related_cases(case: Case, reader: User) -> list[Related]:
    """Per respondent account: how many other cases name it (recused ones not counted), and the visible ones.

    An account can be named in hundreds of cases: one statement for all the accounts of the case counts them
    in the database (from the account index) and returns only the newest RELATED_SHOWN per account.
    """
    accounts: dict[tuple[str, str | None], Party] = {}
    for party in case.parties:
        if party.kind == "respondent" and party.handle_normalized:
            accounts.setdefault((party.handle_normalized, party.platform), party)
    if not accounts:
        return []
    parties = list(accounts.values())
    query = _related_query(reader, tuple(bool(party.platform) for party in parties))
    params: dict[str, object] = {"case_id": case.id}
    for index, party in enumerate(parties):
        params[f"handle_{index}"] = party.handle_normalized
        if party.platform:
            params[f"platform_{index}"] = party.platform
    rows: dict[int, list] = {}
    for row in db.session.execute(query, params):
        rows.setdefault(row.account, []).append(row)
    result = []
    for index, party in enumerate(parties):
        if index not in rows:
            continue
        found = rows[index]
        newest = sorted((row for row in found if row.openable), key=lambda row: (row.created_at, -row.id), reverse=True)
        result.append(Related(party, found[0].total, newest, int(found[0].openable_count or 0)))
    return result
