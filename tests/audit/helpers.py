"""Builders for audit-trail tests: bulk chains, and a way round the append-only triggers (the attacker's view)."""

from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import insert, text

from casework import audit
from casework.models import AuditEntry

SQLITE_TRIGGERS = ("audit_entries_no_update", "audit_entries_no_delete", "audit_entries_append_at_head")


def chain_rows(count: int, *, start_seq: int = 1, prev_hash: str = audit.GENESIS_HASH, action: str = "test.bulk"):
    """`count` valid entries continuing a chain, as dicts ready for a bulk insert."""
    rows = []
    start = datetime(2026, 1, 1, 8, 0, 0)
    for offset in range(count):
        seq = start_seq + offset
        created_at = start + timedelta(microseconds=seq * 1013)
        actor_kind, actor_id = ("user", seq % 17 + 1) if seq % 3 else ("reporter", None)
        details = {} if seq % 4 == 0 else {"fields": ["status", "assignee_id"], "user_id": seq % 11, "flag": True}
        if seq % 7 == 0:
            details = {"champ": "déjà-vu", "n": -seq}
        case_id = seq % 97 if seq % 5 else None
        object_type, object_id = ("case", str(case_id)) if case_id else (None, None)
        digest = audit.entry_hash(
            seq, created_at, actor_kind, actor_id, action, object_type, object_id, case_id, details, prev_hash
        )
        rows.append(
            {
                "seq": seq,
                "created_at": created_at,
                "actor_kind": actor_kind,
                "actor_id": actor_id,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "case_id": case_id,
                "details": details,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    return rows


def append_bulk(session, count: int, action: str = "test.bulk") -> list[dict]:
    """Append `count` valid entries after the current head, fast (one multi-row insert per batch)."""
    seq, digest = audit.head(session)
    rows = chain_rows(count, start_seq=seq + 1, prev_hash=digest, action=action)
    for start in range(0, len(rows), 5000):
        session.execute(insert(AuditEntry.__table__), rows[start : start + 5000])
    session.flush()
    return rows


@contextmanager
def triggers_bypassed(session):
    """What someone with the database can do: switch the append-only triggers off (rolled back with the test)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
        yield
        session.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER USER"))
    else:
        sql = dict(
            session.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_entries'")
            ).all()
        )
        for name in sql:
            session.execute(text(f"DROP TRIGGER {name}"))
        yield
        for statement in sql.values():
            session.execute(text(statement))


def append_as_worker(url: str, worker: int, count: int, start) -> None:
    """A worker process of its own (like a gunicorn worker): its own engine and connection, committing each entry."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from casework import configure_sqlite

    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine)
    try:
        with Session(engine) as session:
            start.wait()
            for n in range(count):
                audit.record("test.concurrent", "system", details={"worker": worker, "n": n}, session=session)
                session.commit()
    finally:
        engine.dispose()
