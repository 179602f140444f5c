"""What the audit trail costs: an append inside a request-sized transaction, and the verification rate.

    python bench/audit.py --pg-url postgresql+psycopg://user@host:port/db
    (or CASEWORK_BENCH_PG_URL, or CASEWORK_DATABASE_URL when it points at PostgreSQL)

Runs on SQLite (a temporary file) and on PostgreSQL (a temporary database created next to the one in the
URL, dropped afterwards); it skips nothing and fails when no PostgreSQL URL is given. Prints, per database:
- the median duration of a request-sized transaction (read a case, change it, add a timeline event, commit)
  with and without one audit entry, and the difference: the cost an entry adds (target: at most 1 ms);
- the verification rate of `audit verify` over a trail of --entries entries (target: 100,000 entries/s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CASEWORK_INSTANCE_DIR", tempfile.mkdtemp(prefix="casework-bench-"))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from casework import audit, create_app  # noqa: E402
from casework.extensions import db  # noqa: E402
from casework.models import AuditEntry, Case, CaseEvent, User, format_reference  # noqa: E402


def _chain(count: int, start_seq: int, prev_hash: str):
    start = datetime(2026, 1, 1, 8, 0, 0)
    shapes = [{}, {"user_id": 3}, {"fields": ["status", "assignee_id"], "role": "intake"}, {"found": True}]
    for seq in range(start_seq, start_seq + count):
        created_at = start + timedelta(microseconds=seq * 997)
        case_id = seq % 5000 or None
        details = shapes[seq % 4] if seq % 10 else {"user_id": seq % 200, "n": seq % 50}
        actor_kind, actor_id = ("user", seq % 40 + 1) if seq % 6 else ("reporter", None)
        object_type, object_id = ("case", str(case_id)) if case_id else (None, None)
        action = ("case.view", "case.transition", "case.note_added", "auth.login")[seq % 4]
        digest = audit.entry_hash(
            seq, created_at, actor_kind, actor_id, action, object_type, object_id, case_id, details, prev_hash
        )
        yield {
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
        prev_hash = digest


def _fill(count: int) -> None:
    seq, digest = audit.head()
    batch = []
    for row in _chain(count, seq + 1, digest):
        batch.append(row)
        if len(batch) == 10000:
            db.session.execute(insert(AuditEntry), batch)
            db.session.commit()
            batch = []
    if batch:
        db.session.execute(insert(AuditEntry), batch)
        db.session.commit()


def _request_sized_transaction(user: User, case_id: int, with_audit: bool) -> tuple[float, float, float]:
    """Read a case, change it, add a timeline event, (append an audit entry,) commit.

    Returns (wall seconds, this process's CPU seconds, wall seconds of audit.record alone)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    case = db.session.execute(select(Case).where(Case.id == case_id)).scalar_one()
    case.urgent = not case.urgent
    db.session.add(CaseEvent(case_id=case.id, kind="note", actor_kind="user", actor_id=user.id))
    db.session.flush()
    append = 0.0
    if with_audit:
        before = time.perf_counter()
        audit.record("case.updated", user, case_id=case.id, object_type="case", object_id=case.id, details={"f": 1})
        append = time.perf_counter() - before
    db.session.commit()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    db.session.expunge_all()
    return elapsed, cpu, append


def _settle() -> None:
    """Write bulk-loaded pages out, so the timed transactions do not pay for the load."""
    db.session.commit()
    db.session.close()
    if db.engine.dialect.name == "sqlite":
        raw = db.engine.raw_connection()  # outside any transaction: a checkpoint cannot run inside one
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    else:
        db.session.execute(text("CHECKPOINT"))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE audit_entries"))
    db.session.commit()


def bench_database(label: str, url: str, transactions: int, entries: int) -> None:
    from flask_migrate import upgrade

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        user = User(email="bench@casework.example.edu", display_name="Bench", role="intake", password_hash="-")  # noqa: S106
        db.session.add(user)
        db.session.flush()
        case = Case(
            reference=format_reference(2026, 1),
            workflow_name="online_harassment",
            workflow_version=1,
            status="received",
            narrative="bench",
        )
        db.session.add(case)
        db.session.commit()
        user_id, case_id = user.id, case.id
        _fill(20_000)  # appends find a trail of some size, not an empty table
        _settle()
        plain, audited, plain_cpu, audited_cpu, appends = [], [], [], [], []
        warm_up = 200
        for i in range(transactions * 2 + warm_up):
            with_audit = i % 2 == 1  # interleaved, so both kinds see the same machine
            elapsed, cpu, append = _request_sized_transaction(db.session.get(User, user_id), case_id, with_audit)
            if i >= warm_up:
                (audited if with_audit else plain).append(elapsed)
                (audited_cpu if with_audit else plain_cpu).append(cpu)
                if with_audit:
                    appends.append(append)
        base, with_entry = statistics.median(plain), statistics.median(audited)
        cpu_added = statistics.median(audited_cpu) - statistics.median(plain_cpu)
        print(
            f"[{label}] request-sized transaction ({len(plain)} of each kind, interleaved): median "
            f"{base * 1000:.3f} ms without an audit entry, {with_entry * 1000:.3f} ms with one: an entry adds "
            f"{(with_entry - base) * 1000:.3f} ms wall, {cpu_added * 1000:.3f} ms of this process's CPU; "
            f"audit.record alone: median {statistics.median(appends) * 1000:.3f} ms (target: at most 1 ms)"
        )

        _fill(entries - audit.head()[0])
        _settle()
        rates, cpu_rates = [], []
        for _ in range(3):
            started, cpu_started = time.perf_counter(), time.process_time()
            result = audit.verify()
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            db.session.rollback()
            assert result.ok, result.message
            rates.append(result.checked / elapsed)
            cpu_rates.append(result.checked / cpu)
        best = max(rates)
        print(
            f"[{label}] audit verify over {result.checked:,} entries: best of 3 {best:,.0f} entries/s wall "
            f"(a million in {1_000_000 / best:.1f} s), {max(cpu_rates):,.0f} entries per CPU-second of this process "
            f"(target: at least 100,000 entries/s)"
        )
        db.session.remove()
        db.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    database_url = os.environ.get("CASEWORK_DATABASE_URL", "")
    default_pg = os.environ.get("CASEWORK_BENCH_PG_URL") or (
        database_url if database_url.startswith("postgresql") else None
    )
    parser.add_argument(
        "--pg-url",
        default=default_pg,
        help="a PostgreSQL URL (default: CASEWORK_BENCH_PG_URL, else CASEWORK_DATABASE_URL if it is PostgreSQL); "
        "a temporary database is created next to it and dropped afterwards",
    )
    parser.add_argument("--entries", type=int, default=300_000, help="trail size for the verification rate")
    parser.add_argument("--transactions", type=int, default=500, help="transactions of each kind")
    args = parser.parse_args()
    if not args.pg_url:
        parser.error("give a PostgreSQL URL with --pg-url or CASEWORK_BENCH_PG_URL: this benchmark skips nothing")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.1f} (figures are wall times)")

    with tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp:
        bench_database("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", args.transactions, args.entries)

    server = make_url(args.pg_url)
    name = f"casework_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        bench_database(
            "PostgreSQL",
            server.set(database=name).render_as_string(hide_password=False),
            args.transactions,
            args.entries,
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
