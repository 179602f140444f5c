"""The audit trail: record(...) appends a hash-chained entry; verify(...) walks the chain.

Entries hold ids, actions and field names only, never narrative text or names, so a purge
of a case never breaks the chain (DESIGN.md rule 4).

The hash of an entry is SHA-256 over its canonical serialization: the JSON array

    [seq, created_at, actor_kind, actor_id, action, object_type, object_id, case_id, details, prev_hash]

with `created_at` as ISO 8601 with microseconds ("2026-11-21T10:54:00.123456", naive UTC), `details`
with sorted keys, compact separators (",", ":") and UTF-8 without ASCII escaping — exactly
`json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`. The offline verifier
(`tools/verify_audit_export.py`) uses that standard-library call; `canonical()` builds the same bytes faster.

Appends are serialised so the chain never forks: on PostgreSQL by a transaction-scoped advisory
lock, on SQLite by write transactions that begin IMMEDIATE (a read request's view entries are appended
right after its read transaction, in a write transaction of their own: see record()). Behind the lock, database triggers
refuse UPDATE, DELETE (and TRUNCATE) and any INSERT that does not follow the head (migrations 0001
and 0003). A checkpoint — the head signed with CASEWORK_AUDIT_CHECKPOINT_KEY — kept outside
the system proves later that the trail still extends it, which catches a truncated, rewritten or
restored-from-backup trail.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import queue
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import Connection, insert, select, text
from sqlalchemy.orm import Session

from casework import transactions
from casework.extensions import db
from casework.models import AuditEntry, User, utcnow

GENESIS_HASH = "0" * 64
MAX_DETAIL_TEXT = 200  # details carry ids and field names; a long string is a bug
PG_AUDIT_LOCK_KEY = 0x43415345  # "CASE": serialises appends (and case tally changes) across workers on PostgreSQL
CHECKPOINT_KIND = "casework-audit-checkpoint"

Actor = User | str | None  # a staff user, or "reporter", "system", "anonymous"

_encode_details = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_int_text = int.__repr__  # raises TypeError on anything but an int: a tampered column cannot inject text


class AuditDetailError(ValueError):
    """Details that look like content (long text, nested objects) are refused."""


def _opt_int(value: int | None) -> str:
    return "null" if value is None else _int_text(value)


def _opt_str(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _canonical_text(
    seq: int,
    created_iso: str,
    actor_kind: str,
    actor_id: int | None,
    action: str,
    object_type: str | None,
    object_id: str | None,
    case_id: int | None,
    details: Any,
    prev_hash: str,
) -> str:
    # Byte for byte what json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False) gives
    # (a test holds the two together), without building the list and walking it generically.
    return (
        f"[{_int_text(seq)},{encode_basestring(created_iso)},{_opt_str(actor_kind)},{_opt_int(actor_id)},"
        f"{_opt_str(action)},{_opt_str(object_type)},{_opt_str(object_id)},{_opt_int(case_id)},"
        f"{_encode_details(details) if details != {} else '{}'},{encode_basestring(prev_hash)}]"
    )


def iso(created_at: datetime) -> str:
    """The canonical text of an entry's time."""
    return created_at.isoformat(timespec="microseconds")


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
    return _canonical_text(
        seq, iso(created_at), actor_kind, actor_id, action, object_type, object_id, case_id, details, prev_hash
    ).encode()


def entry_hash(*fields: Any) -> str:
    """SHA-256 over the canonical serialization of an entry's fields."""
    return hashlib.sha256(canonical(*fields)).hexdigest()


def _check_details(details: Mapping[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in details.items():
        if not isinstance(key, str) or len(key) > 64:
            raise AuditDetailError("audit detail names must be short field names")
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


_HEAD = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
_PG_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_INSERT = insert(AuditEntry.__table__)


# With psycopg 3 both statements travel in one round trip; each still takes its own snapshot (READ COMMITTED),
# so the head is read after the lock is granted.
_PG_LOCK_AND_HEAD = (
    f"SELECT pg_advisory_xact_lock({PG_AUDIT_LOCK_KEY}); SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1"  # noqa: S608
)


def _lock_head(connection: Connection) -> tuple[int, str]:
    """Take the append lock for this transaction and return the head (seq, hash)."""
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        cursor = connection.connection.cursor()
        try:
            cursor.execute(_PG_LOCK_AND_HEAD)
            cursor.nextset()
            head = cursor.fetchone()
        finally:
            cursor.close()
        return (head[0], head[1]) if head else (0, GENESIS_HASH)
    if connection.dialect.name == "postgresql":
        # Held until the transaction ends, so the head read below cannot change under us; READ COMMITTED
        # gives the statement after the lock a fresh snapshot that includes the previous holder's commit.
        connection.execute(_PG_LOCK, {"key": PG_AUDIT_LOCK_KEY})
    # On SQLite every write transaction begins IMMEDIATE (the database write lock), which serialises appends.
    # On both, a trigger refuses an insert that does not follow the head, so a missed lock fails loudly.
    head = connection.execute(_HEAD).first()
    return (head[0], head[1]) if head else (0, GENESIS_HASH)


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
    """Append an audit entry in the current transaction (flushed, never committed here).

    Returns the entry as a plain (transient) AuditEntry: it is written with one Core INSERT, not through the
    unit of work, which keeps an append well under a millisecond; query the table to get it from the session.

    A change's entry is written in the same transaction as the change. A pure view — an entry recorded while
    serving a GET or HEAD request, where nothing else is written in the read transaction — is queued instead
    and appended by the request's commit, in a short write transaction right after the read one and before the
    response is returned (casework/transactions.py), so the append lock is never held while a page renders;
    the returned entry then has no seq or hash yet.
    """
    session = session or db.session
    actor_kind, actor_id = _actor_fields(actor)
    clean = _check_details(details or {})
    object_id = None if object_id is None or object_id == "" else str(object_id)
    object_type = object_type or None
    fields = (actor_kind, actor_id, action, object_type, object_id, case_id, clean)
    if transactions.read_request():
        transactions.after_read(session, lambda s: _append(s, *fields))
        return AuditEntry(
            actor_kind=actor_kind,
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            case_id=case_id,
            details=clean,
        )
    return _append(session, *fields)


def _append(
    session: Session,
    actor_kind: str,
    actor_id: int | None,
    action: str,
    object_type: str | None,
    object_id: str | None,
    case_id: int | None,
    clean: dict[str, Any],
) -> AuditEntry:
    session.flush()  # the change this entry records reaches the database first, in the same transaction
    connection = session.connection()
    last_seq, prev_hash = _lock_head(connection)
    seq = last_seq + 1
    created_at = utcnow()
    values = {
        "seq": seq,
        "created_at": created_at,
        "actor_kind": actor_kind,
        "actor_id": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "case_id": case_id,
        "details": clean,
        "prev_hash": prev_hash,
        "hash": entry_hash(
            seq, created_at, actor_kind, actor_id, action, object_type, object_id, case_id, clean, prev_hash
        ),
    }
    connection.execute(_INSERT, values)
    return AuditEntry(**values)


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
COLUMN_NAMES = tuple(column.key for column in AUDIT_COLUMNS)


def _created_iso(value: datetime | str) -> str:
    if isinstance(value, str):
        # SQLite stores "YYYY-MM-DD HH:MM:SS.ffffff"; anything else was not written by us and will not match.
        return value[:10] + "T" + value[11:] if len(value) == 26 and value[10] == " " else value
    return iso(value)


def verify_rows(
    rows: Iterable[tuple],
    *,
    start_seq: int = 1,
    start_hash: str = GENESIS_HASH,
    expect: Mapping[int, str] | None = None,
) -> Verification:
    """Walk rows of AUDIT_COLUMNS in sequence order and check every link and hash.

    `created_at` may be a datetime or its canonical text, `details` a dict or the stored JSON text.
    `expect` maps sequence numbers to hashes that must be found there (a checkpoint).
    """
    # The hot loop of `audit verify`: the canonical form of _canonical_text is inlined, and the canonical text
    # of each distinct stored details text is computed once (trails repeat the same few details shapes).
    expected_seq, prev_hash, checked = start_seq, start_hash, 0
    expect = expect or {}
    sha256, loads, encode_details, quote, int_text = (
        hashlib.sha256,
        json.loads,
        _encode_details,
        encode_basestring,
        _int_text,
    )
    str_ = str
    details_cache: dict[str, str] = {}
    for seq, created_at, actor_kind, actor_id, action, object_type, object_id, case_id, details, prev, digest in rows:
        if seq != expected_seq:
            problem = f"expected entry #{expected_seq} next, found #{seq} (an entry is missing or out of order)"
            return Verification(False, checked, expected_seq - 1, prev_hash, expected_seq, problem)
        if prev != prev_hash:
            problem = "its previous-hash does not match the entry before it"
            return Verification(False, checked, seq - 1, prev_hash, seq, problem)
        try:
            if details.__class__ is str_:
                details_text = details_cache.get(details)
                if details_text is None:
                    if len(details_cache) > 100_000:
                        details_cache.clear()
                    details_text = details_cache[details] = encode_details(loads(details))
            else:
                details_text = encode_details(details)
            if created_at.__class__ is not str_:
                created_at = _created_iso(created_at)
            payload = (
                f"[{int_text(seq)},{quote(created_at)},{quote(actor_kind)},"
                f"{'null' if actor_id is None else int_text(actor_id)},{quote(action)},"
                f"{'null' if object_type is None else quote(object_type)},"
                f"{'null' if object_id is None else quote(object_id)},"
                f"{'null' if case_id is None else int_text(case_id)},{details_text},{quote(prev)}]"
            ).encode()
        except (TypeError, ValueError, AttributeError):
            return Verification(False, checked, seq - 1, prev_hash, seq, "its fields do not have the stored types")
        if sha256(payload).hexdigest() != digest:
            return Verification(False, checked, seq - 1, prev_hash, seq, "its content does not match its hash")
        if seq in expect and expect[seq] != digest:
            problem = "it differs from the checkpoint: the trail was rewritten from here or earlier"
            return Verification(False, checked, seq - 1, prev_hash, seq, problem)
        prev_hash, expected_seq, checked = digest, seq + 1, checked + 1
    return Verification(True, checked, expected_seq - 1, prev_hash)


_FULL_COLUMNS = (
    "seq, {created}, actor_kind, actor_id, action, object_type, object_id, case_id, details{details}, prev_hash, hash"
)
# The database hands over the canonical time text (no datetime objects to build and format) and the details as
# JSON text (no dicts to build: verify_rows canonicalises each distinct text once).
_FULL = {
    "sqlite": _FULL_COLUMNS.format(created="replace(created_at, ' ', 'T')", details=""),
    "postgresql": _FULL_COLUMNS.format(created="to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.US')", details="::text"),
}
_BATCH = {
    "sqlite": "SELECT {columns} FROM audit_entries WHERE seq > ? ORDER BY seq LIMIT ?",
    "postgresql": "SELECT {columns} FROM audit_entries WHERE seq > %s ORDER BY seq LIMIT %s",
}
_ONE = {
    "sqlite": "SELECT {columns} FROM audit_entries WHERE seq = ?",
    "postgresql": "SELECT {columns} FROM audit_entries WHERE seq = %s",
}
# The fast path of verify(): the database writes the canonical text of everything but the details and the
# previous hash (JSON string quoting by json_quote / to_json, which escape exactly as Python's json does), so
# each row arrives as five values instead of eleven. Whenever its bytes do not match the stored hash, the
# entry is checked again field by field by verify_rows, which alone decides that an entry is bad.
_PREFIX = {
    "sqlite": (
        "seq, '[' || seq || ',' || json_quote(replace(created_at, ' ', 'T')) || ',' || json_quote(actor_kind) || ',' "
        "|| coalesce(actor_id, 'null') || ',' || json_quote(action) || ',' || json_quote(object_type) || ',' "
        "|| json_quote(object_id) || ',' || coalesce(case_id, 'null') || ',', details, prev_hash, hash"
    ),
    "postgresql": (
        "seq, '[' || seq || ',\"' || to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '\",' "
        "|| to_json(actor_kind)::text || ',' || coalesce(actor_id::text, 'null') || ',' || to_json(action)::text "
        "|| ',' || coalesce(to_json(object_type)::text, 'null') || ',' || coalesce(to_json(object_id)::text, 'null') "
        "|| ',' || coalesce(case_id::text, 'null') || ',', details::text, prev_hash, hash"
    ),
}


def _batches(connection: Connection, sql: str, after_seq: int, batch_size: int) -> Iterator[list[tuple]]:
    cursor = connection.connection.cursor()
    try:
        cursor.arraysize = batch_size
        last = after_seq
        while True:
            cursor.execute(sql, (last, batch_size))
            batch = cursor.fetchall()
            if not batch:
                return
            yield batch
            if len(batch) < batch_size:
                return
            last = batch[-1][0]
    finally:
        cursor.close()


def _prefetched(batches: Iterator[list[tuple]]) -> Iterator[tuple]:
    """Rows of `batches`, fetching the next batch in a thread while the caller works on this one.

    PostgreSQL only: the server builds and sends a batch while Python hashes the previous one.
    (sqlite3 connections refuse to be used from another thread, and there is no server to overlap with.)
    """
    results: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                results.put(batch)
            results.put(None)
        except BaseException as error:  # handed to the consumer, raised there
            results.put(error)
        finally:
            batches.close()  # type: ignore[attr-defined]

    worker = threading.Thread(target=produce, name="audit-verify-fetch", daemon=True)
    worker.start()
    try:
        while True:
            batch = results.get()
            if batch is None:
                return
            if isinstance(batch, BaseException):
                raise batch
            yield from batch
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue, then let it finish
            with contextlib.suppress(queue.Empty):
                results.get(timeout=0.05)


def iter_rows(session: Session | None = None, *, after_seq: int = 0, batch_size: int = 20000) -> Iterator[tuple]:
    """Every entry after `after_seq` as a plain tuple of AUDIT_COLUMNS (time as canonical text, details as JSON
    text), in keyset batches over a raw DB-API cursor."""
    session = session or db.session
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect not in _FULL:  # another database: the portable, slower path
        query = select(*AUDIT_COLUMNS).where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq)
        yield from session.execute(query).tuples()
        return
    for batch in _batches(connection, _BATCH[dialect].format(columns=_FULL[dialect]), after_seq, batch_size):
        yield from batch


def _verify_fast(session: Session, expect: Mapping[int, str], batch_size: int) -> Verification:
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect not in _PREFIX:
        return verify_rows(iter_rows(session, batch_size=batch_size), expect=expect)
    one_row = _ONE[dialect].format(columns=_FULL[dialect])
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    sha256, loads, encode_details = hashlib.sha256, json.loads, _encode_details
    details_cache: dict[str, str] = {}
    batches = _batches(connection, _BATCH[dialect].format(columns=_PREFIX[dialect]), 0, batch_size)
    rows = _prefetched(batches) if dialect == "postgresql" else (row for batch in batches for row in batch)
    for seq, prefix, details, prev, digest in rows:
        if seq != expected_seq:
            problem = f"expected entry #{expected_seq} next, found #{seq} (an entry is missing or out of order)"
            return Verification(False, checked, expected_seq - 1, prev_hash, expected_seq, problem)
        if prev != prev_hash:
            problem = "its previous-hash does not match the entry before it"
            return Verification(False, checked, seq - 1, prev_hash, seq, problem)
        details_text = details_cache.get(details)
        if details_text is None:
            try:
                details_text = encode_details(loads(details))
            except (TypeError, ValueError):
                details_text = ""
            if len(details_cache) > 100_000:
                details_cache.clear()
            details_cache[details] = details_text
        # prev is the previous entry's verified hash (hex) or the genesis hash: safe to place between quotes.
        if prefix is None or sha256(f'{prefix}{details_text},"{prev}"]'.encode()).hexdigest() != digest:
            cursor = connection.connection.cursor()
            try:
                cursor.execute(one_row, (seq,))
                row = cursor.fetchone()
            finally:
                cursor.close()
            single = verify_rows([row], start_seq=seq, start_hash=prev_hash, expect=expect)
            if not single.ok:
                return Verification(False, checked, seq - 1, prev_hash, seq, single.problem)
        elif seq in expect and expect[seq] != digest:
            problem = "it differs from the checkpoint: the trail was rewritten from here or earlier"
            return Verification(False, checked, seq - 1, prev_hash, seq, problem)
        prev_hash, expected_seq, checked = digest, seq + 1, checked + 1
    return Verification(True, checked, expected_seq - 1, prev_hash)


@dataclass(frozen=True)
class Checkpoint:
    """The head of the trail at a moment, signed with the checkpoint key."""

    seq: int
    hash: str
    taken_at: str
    signature: str

    def as_json(self) -> str:
        return json.dumps(
            {
                "kind": CHECKPOINT_KIND,
                "version": 1,
                "seq": self.seq,
                "hash": self.hash,
                "taken_at": self.taken_at,
                "hmac_sha256": self.signature,
            },
            indent=2,
        )


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or whose signature does not match the configured key."""


def _checkpoint_message(seq: int, digest: str, taken_at: str) -> bytes:
    return json.dumps([CHECKPOINT_KIND, 1, seq, digest, taken_at], separators=(",", ":")).encode()


def sign_checkpoint(key: str, seq: int, digest: str, taken_at: str) -> str:
    """HMAC-SHA256 of a checkpoint's fields under the checkpoint key."""
    return hmac.new(key.encode(), _checkpoint_message(seq, digest, taken_at), hashlib.sha256).hexdigest()


def head(session: Session | None = None) -> tuple[int, str]:
    """The last entry's sequence number and hash (0 and the genesis hash for an empty trail)."""
    session = session or db.session
    row = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    return (row.seq, row.hash) if row else (0, GENESIS_HASH)


def make_checkpoint(key: str, session: Session | None = None) -> Checkpoint:
    """Sign the current head of the trail."""
    if not key:
        raise CheckpointError("CASEWORK_AUDIT_CHECKPOINT_KEY is not set.")
    seq, digest = head(session)
    taken_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Checkpoint(seq, digest, taken_at, sign_checkpoint(key, seq, digest, taken_at))


def load_checkpoint(raw: str, key: str) -> Checkpoint:
    """Read a checkpoint file and check its signature; CheckpointError says what is wrong."""
    try:
        data = json.loads(raw)
        if data.get("kind") != CHECKPOINT_KIND or data.get("version") != 1:
            raise CheckpointError("This is not a Casework audit checkpoint.")
        seq, digest, taken_at, signature = data["seq"], data["hash"], data["taken_at"], data["hmac_sha256"]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        if isinstance(error, CheckpointError):
            raise
        raise CheckpointError("The checkpoint cannot be read: it is not a Casework checkpoint file.") from error
    if not (isinstance(seq, int) and isinstance(digest, str) and isinstance(taken_at, str)):
        raise CheckpointError("The checkpoint cannot be read: its fields have the wrong types.")
    if not key or not hmac.compare_digest(str(signature), sign_checkpoint(key, seq, digest, taken_at)):
        raise CheckpointError("The checkpoint's signature does not match the configured checkpoint key.")
    return Checkpoint(seq, digest, taken_at, signature)


def verify(
    session: Session | None = None, *, checkpoint: Checkpoint | None = None, batch_size: int = 20000
) -> Verification:
    """Verify the whole trail stored in the database (and that it extends `checkpoint`, if given)."""
    expect = {checkpoint.seq: checkpoint.hash} if checkpoint and checkpoint.seq > 0 else {}
    result = _verify_fast(session or db.session, expect, batch_size)
    if result.ok and checkpoint is not None and checkpoint.seq > result.head_seq:
        problem = (
            f"the trail ends at #{result.head_seq} but the checkpoint recorded #{checkpoint.seq}: "
            "entries were removed (truncated, or an older backup restored)"
        )
        return Verification(False, result.checked, result.head_seq, result.head_hash, result.head_seq + 1, problem)
    return result


_GUARDS = {
    "sqlite": (
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_entries'",
        {"audit_entries_no_update", "audit_entries_no_delete", "audit_entries_append_at_head"},
    ),
    "postgresql": (
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_entries'::regclass "
        "AND NOT tgisinternal AND tgenabled <> 'D'",
        {"audit_entries_no_change", "audit_entries_no_truncate", "audit_entries_append_at_head"},
    ),
}


def missing_guards(session: Session | None = None) -> list[str]:
    """The append-only triggers that are missing or disabled (an empty list when all are in place)."""
    session = session or db.session
    sql, expected = _GUARDS.get(session.get_bind().dialect.name, ("", set()))
    if not sql:
        return []
    present = set(session.execute(text(sql)).scalars())
    return sorted(expected - present)
