"""Retention: after a period set per disposition, a closed case loses its personal data and evidence.

What stays is a tombstone: the reference, the dates, the disposition, the office, and the anonymous
statistics (platforms and behaviours, without any free text). A case on legal hold is never purged.
The audit trail holds ids only (DESIGN.md rule 4), so it stays verifiable after a purge.

Evidence files are removed from storage *after* the purge is committed (side effects after the
commit): `purge_case` returns the storage keys, the caller commits and then calls
`delete_stored_files`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from flask import current_app
from sqlalchemy import Select, and_, delete, func, or_, select, update

from casework import audit, storage
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
    ReporterKey,
    User,
    utcnow,
)
from casework.vocabulary import DISPOSITIONS
from config import ConfigurationError

log = logging.getLogger(__name__)

DEFAULT = "*"
SETTING = "CASEWORK_RETENTION_YEARS"
LEGAL_HOLD_ROLES = ("intake", "admin")


class RetentionError(ValueError):
    """A retention action that cannot be taken, with a message for the user."""


def parse_policy(setting: str | int | None) -> dict[str, int]:
    """Years to keep a closed case, by disposition, from "7" or "7,sanction_applied=10" ("*=" sets the default)."""
    policy = {DEFAULT: 7}
    for raw in str(setting if setting is not None else "7").split(","):
        item = raw.strip()
        if not item:
            continue
        name, _, years = item.rpartition("=")
        name = name.strip() or DEFAULT
        if name != DEFAULT and name not in DISPOSITIONS:
            known = ", ".join(DISPOSITIONS)
            raise ConfigurationError(f"{SETTING}: unknown disposition {name!r} (known: {known}).")
        try:
            value = int(years.strip())
        except ValueError:
            raise ConfigurationError(f"{SETTING}: {item!r} is not a whole number of years.") from None
        if not 0 < value <= 100:
            raise ConfigurationError(f"{SETTING}: {item!r} must be between 1 and 100 years.")
        policy[name] = value
    return policy


def current_policy() -> dict[str, int]:
    """The retention policy of the running app."""
    return parse_policy(current_app.config.get("RETENTION_YEARS"))


def years_before(moment: datetime, years: int) -> datetime:
    """The same moment `years` calendar years earlier (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def retention_ends(case: Case, policy: dict[str, int] | None = None) -> datetime | None:
    """When a closed case's personal data is due for removal (None while it is open)."""
    if case.closed_at is None:
        return None
    policy = policy or current_policy()
    years = policy.get(case.disposition or "", policy[DEFAULT])
    try:
        return case.closed_at.replace(year=case.closed_at.year + years)
    except ValueError:
        return case.closed_at.replace(year=case.closed_at.year + years, day=28)


def expired_cases(now: datetime | None = None, policy: dict[str, int] | None = None) -> Select:
    """Closed, not yet purged cases past their retention period and not on legal hold, oldest first."""
    now = now or utcnow()
    policy = policy or current_policy()
    overrides = {name: years for name, years in policy.items() if name != DEFAULT}
    due = [
        and_(Case.disposition == name, Case.closed_at <= years_before(now, years)) for name, years in overrides.items()
    ]
    due.append(and_(Case.disposition.not_in(list(overrides)), Case.closed_at <= years_before(now, policy[DEFAULT])))
    return (
        select(Case)
        .where(Case.status == "closed", Case.closed_at.is_not(None), Case.purged_at.is_(None))
        .where(Case.legal_hold.is_(False))
        .where(or_(*due))
        .order_by(Case.closed_at, Case.id)
    )


@dataclass(frozen=True)
class PurgeCounts:
    parties: int
    notes: int
    messages: int
    evidence: int
    files: int

    def as_details(self) -> dict[str, int]:
        return dict(
            parties=self.parties, notes=self.notes, messages=self.messages, evidence=self.evidence, files=self.files
        )


def _count(model, case_id: int, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(model.case_id == case_id, *conditions))


def purge_counts(case: Case) -> PurgeCounts:
    """How many parties, notes, messages, evidence items and files a purge of this case removes."""
    return PurgeCounts(
        parties=_count(Party, case.id),
        notes=_count(Note, case.id),
        messages=_count(Message, case.id),
        evidence=_count(Evidence, case.id),
        files=_count(Evidence, case.id, Evidence.kind == "file"),
    )


def purge_case(case: Case, actor: User | str = "system") -> list[str]:
    """Remove a case's personal data, leaving a tombstone; returns the storage keys of files to delete
    once the transaction is committed."""
    if case.purged_at is not None:
        raise RetentionError(f"{case.reference} was already purged.")
    if case.legal_hold:
        raise RetentionError(f"{case.reference} is on legal hold.")
    if case.closed_at is None:
        raise RetentionError(f"{case.reference} is not closed.")
    counts = purge_counts(case)
    keys = list(
        db.session.scalars(
            select(Evidence.storage_key).where(
                Evidence.case_id == case.id, Evidence.kind == "file", Evidence.storage_key.is_not(None)
            )
        )
    )
    for model in (Party, Note, Message, Evidence, ReporterKey):
        db.session.execute(
            delete(model).where(model.case_id == case.id), execution_options={"synchronize_session": False}
        )
    # Free text on the rows that stay: the statistics keep their codes, the timeline keeps its states.
    for model, values in (
        (CasePlatform, {"other_text": None}),
        (CaseBehaviour, {"other_text": None}),
        (CaseEvent, {"reason": None, "data": {}}),
        (Referral, {"reason": ""}),
        (Recusal, {"reason": None}),
    ):
        db.session.execute(
            update(model).where(model.case_id == case.id).values(**values),
            execution_options={"synchronize_session": False},
        )
    case.narrative = ""
    case.connection_details = None
    case.closing_summary = None
    case.reporter_name = None
    case.reporter_email = None
    case.reporter_phone = None
    case.reporter_contact_preference = None
    case.consent_share_identity = False
    case.purged_at = utcnow()
    db.session.flush()
    db.session.expire(case, ["parties", "notes", "messages", "evidence", "events", "referrals"])
    audit.record(
        "case.purged", actor, case_id=case.id, object_type="case", object_id=case.id, details=counts.as_details()
    )
    return keys


def delete_stored_files(keys: Iterable[str]) -> int:
    """Delete evidence files from storage (after the purge is committed); returns how many were removed."""
    removed = 0
    for key in keys:
        try:
            storage.path_for(key).unlink()
            removed += 1
        except FileNotFoundError:
            continue  # already gone, or not one of our keys (path_for refuses anything else)
        except OSError as error:
            log.error("retention: could not delete a stored evidence file (%s)", error.strerror)
    return removed


# A file is moved into place just before its transaction commits: one younger than this may belong to a
# transaction committing right now, and is left for the next sweep.
SWEEP_MIN_AGE_SECONDS = 3600
SWEEP_BATCH = 500


def unreferenced_files(now: float | None = None) -> list[str]:
    """Keys of kept files that no evidence row names, older than SWEEP_MIN_AGE_SECONDS.

    They come from a purge stopped after its commit but before its files went, and from an upload whose
    transaction failed or was killed after its file was moved into place (no evidence is lost: no row names it).
    """
    found: list[str] = []
    keys = storage.stored_keys(SWEEP_MIN_AGE_SECONDS, now)
    while batch := list(islice(keys, SWEEP_BATCH)):
        named = set(db.session.scalars(select(Evidence.storage_key).where(Evidence.storage_key.in_(batch))))
        found += [key for key in batch if key not in named]
    return found


def record_sweep(keys: list[str]) -> None:
    """Record that the files `unreferenced_files()` found are deleted: the caller commits, then calls
    delete_stored_files(keys), as a purge does."""
    audit.record("storage.swept", "system", details={"files": len(keys)})


def set_legal_hold(actor: User | str, case: Case, on: bool) -> bool:
    """Put a case on legal hold (it is never purged) or release it; returns whether anything changed."""
    if isinstance(actor, User) and actor.role not in LEGAL_HOLD_ROLES:
        raise RetentionError("Only intake coordinators and administrators set or clear a legal hold.")
    if case.purged_at is not None:
        raise RetentionError(f"{case.reference} was purged; there is nothing left to hold.")
    if case.legal_hold == on:
        return False
    case.legal_hold = on
    db.session.flush()
    audit.record(
        "case.legal_hold_set" if on else "case.legal_hold_cleared",
        actor,
        case_id=case.id,
        object_type="case",
        object_id=case.id,
    )
    return True
