"""The audit trail: record(...) appends a hash-chained entry; verify(...) walks the chain.

Entries hold ids, actions and field names only, never narrative text or names, so a purge
of a case never breaks the chain (DESIGN.md rule 4).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from casework.extensions import db
from casework.models import AuditEntry, User, utcnow

GENESIS_HASH = "0" * 64
MAX_DETAIL_TEXT = 200  # details carry ids and field names; a long string is a bug
PG_AUDIT_LOCK_KEY = 0x43415345  # "CASE": serialises appends across workers on PostgreSQL

Actor = User | str | None  # a staff user, or "reporter", "system", "anonymous"


class AuditDetailError(ValueError):
    """Details that look like content (long text, nested objects) are refused."""


def canonical(
    seq: int,
    created_at: datetime,
    actor_kind: str,
    actor_id: int | None,
    action: str,
    object_type: str | None,
    object_id: str | None,
    case_id: int | None,
    details: Mapping[str, Any],
    prev_hash: str,
) -> bytes:
    """The exact bytes an entry's hash covers."""
    return json.dumps(
        [
            seq,
            created_at.isoformat(timespec="microseconds"),
            actor_kind,
            actor_id,
            action,
            object_type,
            object_id,
            case_id,
            details,
            prev_hash,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def entry_hash(*fields: Any) -> str:
    """SHA-256 over the canonical serialization of an entry's fields."""
    return hashlib.sha256(canonical(*fields)).hexdigest()


def _check_details(details: Mapping[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in details.items():
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if item is not None and not isinstance(item, str | int | bool):
                raise AuditDetailError(f"audit detail {key!r} must be an id, a name or a flag")
            if isinstance(item, str) and len(item) > MAX_DETAIL_TEXT:
                raise AuditDetailError(f"audit detail {key!r} is too long to be an id or a field name")
        clean[key] = list(value) if isinstance(value, list | tuple) else value
    return clean


def _actor_fields(actor: Actor) -> tuple[str, int | None]:
    if isinstance(actor, User):
        return "user", actor.id
    if actor in ("reporter", "system", "anonymous"):
        return actor, None
    if actor is None:
        return "anonymous", None
    raise ValueError(f"unknown audit actor {actor!r}")


def _lock_head(session: Session) -> tuple[int, str]:
    """Take the append lock for this transaction and return the head (seq, hash)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_AUDIT_LOCK_KEY})
    # On SQLite every write transaction begins IMMEDIATE, which already serialises appends.
    head = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    return (head.seq, head.hash) if head else (0, GENESIS_HASH)


def record(
    action: str,
    actor: Actor,
    *,
    case_id: int | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    details: Mapping[str, Any] | None = None,
    session: Session | None = None,
) -> AuditEntry:
    """Append an audit entry in the current transaction (flushed, never committed here)."""
    session = session or db.session
    actor_kind, actor_id = _actor_fields(actor)
    clean = _check_details(details or {})
    object_id = None if object_id is None else str(object_id)
    session.flush()
    last_seq, prev_hash = _lock_head(session)
    seq = last_seq + 1
    created_at = utcnow()
    entry = AuditEntry(
        seq=seq,
        created_at=created_at,
        actor_kind=actor_kind,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        case_id=case_id,
        details=clean,
        prev_hash=prev_hash,
        hash=entry_hash(
            seq, created_at, actor_kind, actor_id, action, object_type, object_id, case_id, clean, prev_hash
        ),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None

    @property
    def message(self) -> str:
        if self.ok:
            return f"The audit trail is intact: {self.checked:,} entries verified, head #{self.head_seq}."
        return f"The audit trail is broken at entry #{self.first_bad_seq}: {self.problem}"


AUDIT_COLUMNS = (
    AuditEntry.seq,
    AuditEntry.created_at,
    AuditEntry.actor_kind,
    AuditEntry.actor_id,
    AuditEntry.action,
    AuditEntry.object_type,
    AuditEntry.object_id,
    AuditEntry.case_id,
    AuditEntry.details,
    AuditEntry.prev_hash,
    AuditEntry.hash,
)


def verify_rows(rows: Iterable[tuple], *, start_seq: int = 1, start_hash: str = GENESIS_HASH) -> Verification:
    """Walk rows of AUDIT_COLUMNS in sequence order and check every link and hash."""
    expected_seq, prev_hash, checked = start_seq, start_hash, 0
    sha256, dumps = hashlib.sha256, json.dumps
    for seq, created_at, actor_kind, actor_id, action, object_type, object_id, case_id, details, prev, digest in rows:
        if seq != expected_seq:
            problem = f"expected entry #{expected_seq} next, found #{seq} (an entry is missing or out of order)"
            return Verification(False, checked, expected_seq - 1, prev_hash, expected_seq, problem)
        if prev != prev_hash:
            problem = "its previous-hash does not match the entry before it"
            return Verification(False, checked, seq - 1, prev_hash, seq, problem)
        payload = dumps(
            [
                seq,
                created_at.isoformat(timespec="microseconds"),
                actor_kind,
                actor_id,
                action,
                object_type,
                object_id,
                case_id,
                details,
                prev,
            ],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        if sha256(payload).hexdigest() != digest:
            return Verification(False, checked, seq - 1, prev_hash, seq, "its content does not match its hash")
        prev_hash, expected_seq, checked = digest, seq + 1, checked + 1
    return Verification(True, checked, expected_seq - 1, prev_hash)


def verify(session: Session | None = None, batch_size: int = 5000) -> Verification:
    """Verify the whole trail stored in the database."""
    session = session or db.session
    rows = session.execute(select(*AUDIT_COLUMNS).order_by(AuditEntry.seq).execution_options(yield_per=batch_size))
    return verify_rows(tuple(row) for row in rows)
