"""The auditor's work: browse and filter the trail, a case's history, verification, exports.

Plain functions taking the actor; they flush, never commit, and record what the auditor did.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, func, select

from casework import audit
from casework.access import find_visible_case, visible_cases
from casework.clock import local_zone
from casework.extensions import db
from casework.models import AuditEntry, Case, CaseEvent, User

PAGE_SIZE = 50
CASE_HISTORY_LIMIT = 1000
ACTOR_KINDS = ("reporter", "system", "anonymous")
EXPORT_FORMATS = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


@dataclass(frozen=True)
class TrailFilter:
    """What the auditor narrowed the trail to. Every field is an id, a name or a date: safe to audit."""

    case_id: int | None = None
    actor: str | None = None  # "user:<id>", "reporter", "system" or "anonymous"
    action: str | None = None  # an action, or a prefix ending in "." or "*"
    date_from: date | None = None
    date_to: date | None = None

    def details(self) -> dict:
        """The filters as audit details (ids, names and dates only)."""
        values = {
            "case_id": self.case_id,
            "actor": self.actor,
            "action": self.action,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
        }
        return {key: value for key, value in values.items() if value is not None}

    def apply(self, query: Select) -> Select:
        if self.case_id is not None:
            query = query.where(AuditEntry.case_id == self.case_id)
        if self.actor:
            if self.actor.startswith("user:"):
                query = query.where(AuditEntry.actor_kind == "user", AuditEntry.actor_id == int(self.actor[5:]))
            else:
                query = query.where(AuditEntry.actor_kind == self.actor)
        if self.action:
            if self.action.endswith(("*", ".")):
                prefix = self.action.rstrip("*")
                query = query.where(AuditEntry.action.startswith(prefix, autoescape=True))
            else:
                query = query.where(AuditEntry.action == self.action)
        if self.date_from:
            query = query.where(AuditEntry.created_at >= datetime.combine(self.date_from, time.min))
        if self.date_to and self.date_to < date.max:
            query = query.where(AuditEntry.created_at < datetime.combine(self.date_to + timedelta(days=1), time.min))
        return query


def find_case_for_auditor(auditor: User, reference: str) -> Case | None:
    """The case with this reference if the auditor may see it (recusal applies to auditors too)."""
    return find_visible_case(auditor, reference)


def actor_choices() -> list[tuple[str, str]]:
    """Every actor an entry can name: each account, then the reporter, the system and anonymous attempts."""
    users = db.session.execute(select(User.id, User.display_name, User.role).order_by(User.display_name)).all()
    people = [(f"user:{u.id}", f"{u.display_name} ({u.role})") for u in users]
    return [*people, ("reporter", "A reporter"), ("system", "The system"), ("anonymous", "Not signed in")]


@dataclass(frozen=True)
class TrailPage:
    entries: list[AuditEntry]
    newer: int | None  # pass as ?after= to see newer entries
    older: int | None  # pass as ?before= to see older entries
    references: dict[int, str]
    actors: dict[int, str]


def _labels(auditor: User, entries: list[AuditEntry]) -> tuple[dict[int, str], dict[int, str]]:
    case_ids = {e.case_id for e in entries if e.case_id is not None}
    user_ids = {e.actor_id for e in entries if e.actor_kind == "user" and e.actor_id is not None}
    references = {}
    if case_ids:
        query = visible_cases(auditor).with_only_columns(Case.id, Case.reference).where(Case.id.in_(case_ids))
        references = dict(db.session.execute(query).all())
    actors = {}
    if user_ids:
        actors = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
    return references, actors


def list_entries(
    auditor: User, trail_filter: TrailFilter, *, before: int | None = None, after: int | None = None
) -> TrailPage:
    """One page of the filtered trail, newest first, by keyset on seq; the search is recorded."""
    query = trail_filter.apply(select(AuditEntry))
    if after is not None:
        rows = db.session.scalars(query.where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(PAGE_SIZE + 1))
        entries = list(rows)
        has_newer = len(entries) > PAGE_SIZE
        entries = entries[:PAGE_SIZE][::-1]
        has_older = bool(entries)
    else:
        if before is not None:
            query = query.where(AuditEntry.seq < before)
        rows = db.session.scalars(query.order_by(AuditEntry.seq.desc()).limit(PAGE_SIZE + 1))
        entries = list(rows)
        has_older = len(entries) > PAGE_SIZE
        entries = entries[:PAGE_SIZE]
        has_newer = before is not None and bool(entries)
    references, actors = _labels(auditor, entries)
    # Record after reading, so the page does not show its own entry.
    audit.record("audit.trail_viewed", auditor, details=trail_filter.details())
    return TrailPage(
        entries=entries,
        newer=entries[0].seq if entries and has_newer else None,
        older=entries[-1].seq if entries and has_older else None,
        references=references,
        actors=actors,
    )


@dataclass(frozen=True)
class CaseHistory:
    events: list[CaseEvent]
    entries: list[AuditEntry]
    truncated: bool
    actors: dict[int, str]


def case_history(auditor: User, case: Case) -> CaseHistory:
    """A case's timeline and its audit entries, side by side; the view is recorded."""
    timeline = select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.created_at, CaseEvent.id)
    events = list(db.session.scalars(timeline))
    trail = select(AuditEntry).where(AuditEntry.case_id == case.id).order_by(AuditEntry.seq.desc())
    entries = list(db.session.scalars(trail.limit(CASE_HISTORY_LIMIT + 1)))
    truncated = len(entries) > CASE_HISTORY_LIMIT
    entries = entries[:CASE_HISTORY_LIMIT][::-1]
    _, actors = _labels(auditor, entries)
    audit.record("audit.case_history_viewed", auditor, case_id=case.id, object_type="case", object_id=case.id)
    return CaseHistory(events=events, entries=entries, truncated=truncated, actors=actors)


@dataclass(frozen=True)
class VerificationOutcome:
    verification: audit.Verification
    missing_guards: list[str]
    checkpoint_seq: int | None = None


def run_verification(
    actor: User | str,
    *,
    checkpoint: audit.Checkpoint | None = None,
    source: str = "web",
    record: bool = True,
) -> VerificationOutcome:
    """Verify the whole chain (and the checkpoint, if any), check the triggers, and record the result."""
    result = audit.verify(checkpoint=checkpoint)
    missing = audit.missing_guards()
    if record:
        audit.record(
            "audit.verified",
            actor,
            details={
                "ok": result.ok,
                "checked": result.checked,
                "head_seq": result.head_seq,
                "first_bad_seq": result.first_bad_seq,
                "checkpoint_seq": checkpoint.seq if checkpoint else None,
                "guards_missing": missing,
                "source": source,
            },
        )
    return VerificationOutcome(result, missing, checkpoint.seq if checkpoint else None)


def recent_verifications(limit: int = 10) -> list[AuditEntry]:
    """The latest recorded verifications, newest first."""
    query = select(AuditEntry).where(AuditEntry.action == "audit.verified").order_by(AuditEntry.seq.desc())
    return list(db.session.scalars(query.limit(limit)))


def take_checkpoint(actor: User | str, key: str) -> audit.Checkpoint:
    """Record that a checkpoint is taken, then sign the head (which is that entry)."""
    if not key:
        raise audit.CheckpointError("CASEWORK_AUDIT_CHECKPOINT_KEY is not set.")
    audit.record("audit.checkpoint_taken", actor)
    return audit.make_checkpoint(key)


# --- Export ------------------------------------------------------------------------------------------------

EXPORT_FIELDS = audit.COLUMN_NAMES
EXPORT_BATCH = 5000


def _export_rows(trail_filter: TrailFilter, upto_seq: int) -> Iterator[tuple]:
    """The filtered entries up to `upto_seq`, in keyset batches, each read in its own short transaction.

    The export streams after the request has committed; ending the read transaction between batches matters on
    SQLite, where every transaction holds the write lock, so a long export never stalls the office's work.
    """
    last = 0
    while True:
        query = trail_filter.apply(select(*audit.AUDIT_COLUMNS)).where(
            AuditEntry.seq > last, AuditEntry.seq <= upto_seq
        )
        batch = db.session.execute(query.order_by(AuditEntry.seq).limit(EXPORT_BATCH)).all()
        db.session.rollback()  # nothing was changed: this only ends the read transaction
        if not batch:
            return
        for row in batch:
            yield tuple(row)
        last = batch[-1][0]


def _export_values(row: tuple) -> dict:
    values = dict(zip(EXPORT_FIELDS, row, strict=True))
    values["created_at"] = audit.iso(values["created_at"])
    return values


def _csv_lines(rows: Iterator[tuple]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_FIELDS)
    for row in rows:
        values = _export_values(row)
        values["details"] = json.dumps(values["details"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        writer.writerow(["" if values[name] is None else values[name] for name in EXPORT_FIELDS])
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _jsonl_lines(rows: Iterator[tuple]) -> Iterator[str]:
    chunk: list[str] = []
    for row in rows:
        chunk.append(json.dumps(_export_values(row), ensure_ascii=False, separators=(",", ":")))
        if len(chunk) >= 2000:
            yield "\n".join(chunk) + "\n"
            chunk = []
    if chunk:
        yield "\n".join(chunk) + "\n"


@dataclass(frozen=True)
class Export:
    filename: str
    mimetype: str
    count: int
    lines: Iterator[str]


def export_trail(auditor: User, trail_filter: TrailFilter, fmt: str) -> Export:
    """The (filtered) trail as CSV or JSON lines; the export is recorded before it is read."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    # The export covers the trail up to the head before its own entry, so the count it records is exact.
    upto_seq, _ = audit.head()
    counted = trail_filter.apply(select(func.count()).select_from(AuditEntry)).where(AuditEntry.seq <= upto_seq)
    count = db.session.scalar(counted)
    details = {"format": fmt, "entries": count, "upto_seq": upto_seq, **trail_filter.details()}
    audit.record("audit.exported", auditor, details=details)
    rows = _export_rows(trail_filter, upto_seq)
    lines = _csv_lines(rows) if fmt == "csv" else _jsonl_lines(rows)
    scope = "filtered" if trail_filter.details() else "full"
    stamp = datetime.now(local_zone()).strftime("%Y%m%d-%H%M%S")  # the file name: the institution's time
    return Export(f"audit-trail-{scope}-{stamp}.{fmt}", EXPORT_FORMATS[fmt], count, lines)
