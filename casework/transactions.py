"""Read requests read in one transaction; their few writes run after it, in a short write transaction.

A GET or HEAD request records what it showed (the audit entry of a view or a search) and may mark the
reporter's messages read. Made where they happen, those writes would hold a lock from that moment until the
request ends, through its rendering — a PDF takes hundreds of milliseconds — and every other request that
writes would queue behind it:

- on SQLite every write transaction begins IMMEDIATE (DESIGN rule 7), which takes the database write lock, and
  upgrading a WAL read transaction to a write fails with SQLITE_BUSY_SNAPSHOT when another worker wrote
  meanwhile (the busy timeout does not retry it); so a read request's transaction begins plain `BEGIN`
  (deferred: a WAL reader never blocks nor waits);
- on PostgreSQL an audit append takes a transaction-scoped advisory lock (casework/audit.py), held to the commit.

So the writes a read request must make are queued with `after_read(...)`. The route's one `db.session.commit()`
ends the read transaction and then runs the queued writes in one short write transaction and commits it, before
the response is returned: a view whose entry cannot be written fails the request rather than going unrecorded.
On PostgreSQL the read transaction itself runs them at that point and commits once (_writes_join_the_read).

POST (and every other method) and the CLI are unchanged: writes run where they are made, in the transaction of
the change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import flask_sqlalchemy.session
from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

READ_METHODS = frozenset({"GET", "HEAD"})
_PENDING = "casework.after_read"
_write_phase: ContextVar[bool] = ContextVar("casework_write_phase", default=False)
_read_only: ContextVar[bool] = ContextVar("casework_read_only", default=False)


class WriteInReadRequest(RuntimeError):
    """An ORM change was flushed inside a read request's read transaction (queue it with after_read)."""


def read_request() -> bool:
    """True while serving a GET or HEAD request, or inside read_only(), outside a write phase."""
    reading = _read_only.get() or (has_request_context() and request.method in READ_METHODS)
    return reading and not _write_phase.get()


@contextmanager
def read_only() -> Iterator[None]:
    """Work outside a request that only reads (a background refresh) is a read request: on SQLite its
    transaction begins deferred instead of taking the write lock, and a write in it is refused."""
    token = _read_only.set(True)
    try:
        yield
    finally:
        _read_only.reset(token)


def after_read(session: Session, work: Callable[[Session], object]) -> None:
    """Run `work(session)` now, or — in a read request — in the write phase after the read commits."""
    if read_request():
        session.info.setdefault(_PENDING, []).append(work)
    else:
        work(session)


def _writes_join_the_read(session: Session) -> bool:
    """PostgreSQL: the queued writes run at the end of the read transaction itself, which commits once.

    Its READ COMMITTED transaction may write without any upgrade, and the writes still run at the commit,
    after the page rendered, so the append lock is held as briefly; ending the read transaction first would
    cost three more round trips (its COMMIT, a fresh connection checkout with its ping, a BEGIN).
    """
    return session.get_bind().dialect.name == "postgresql"


class DeferredWrites:
    """Session mixin: commit() ends the read transaction, then runs the queued writes in one write transaction
    (on PostgreSQL: runs them, then commits the one transaction)."""

    def commit(self) -> None:
        pending = self.info.pop(_PENDING, None)
        if not (pending and _writes_join_the_read(self)):  # type: ignore[arg-type]
            super().commit()  # type: ignore[misc]
        if pending:
            self._write(pending)

    def _write(self, pending: list[Callable[[Session], object]]) -> None:
        token = _write_phase.set(True)
        try:
            for work in pending:
                work(self)
            super().commit()  # type: ignore[misc]
        except BaseException:
            self.rollback()  # type: ignore[attr-defined]
            raise
        finally:
            _write_phase.reset(token)

    def rollback(self) -> None:
        self.info.pop(_PENDING, None)
        super().rollback()  # type: ignore[misc]

    def close(self) -> None:
        self.info.pop(_PENDING, None)
        super().close()  # type: ignore[misc]


class AppSession(DeferredWrites, flask_sqlalchemy.session.Session):
    """The application's session class."""


class PlainSession(DeferredWrites, Session):
    """The same behaviour on a plain SQLAlchemy session (tests bind one to an outer connection)."""


@event.listens_for(Session, "before_flush")
def _refuse_write_in_read_transaction(session: Session, _context, _instances) -> None:
    if (session.new or session.dirty or session.deleted) and read_request():
        changed = {type(obj).__name__ for obj in (*session.new, *session.dirty, *session.deleted)}
        # dirty may hold objects with no net change; only refuse real changes
        if session.new or session.deleted or any(session.is_modified(obj) for obj in session.dirty):
            raise WriteInReadRequest(
                f"{', '.join(sorted(changed))} changed during a {request.method} request: queue the write with "
                "casework.transactions.after_read so it runs after the read transaction"
            )


def begin_statement() -> str:
    """The BEGIN a new SQLite transaction uses: deferred for a read request, IMMEDIATE otherwise (rule 7)."""
    return "BEGIN" if read_request() else "BEGIN IMMEDIATE"
