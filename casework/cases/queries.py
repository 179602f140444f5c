"""Queue queries: small composable pieces over ``access.visible_cases(user)`` (DESIGN.md rule 1).

Each queue is a condition on ``Case``; ``queue_query`` combines the visibility clause, a queue and
keyset pagination on (created_at, id), newest first. Search, dashboards and exports can reuse
``QUEUES``, ``queue_condition``, ``open_cases`` and ``keyset_page``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, and_, false, func, or_, select, true
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from casework import access, flows
from casework.extensions import db
from casework.models import Case, Message, User

PAGE_SIZE = 50
CLOSED_STATE = "closed"


@dataclass(frozen=True)
class Queue:
    name: str
    label: str
    condition: Callable[[User, date], ColumnElement[bool]]
    roles: tuple[str, ...] | None = None  # None: every role that sees the queues


def open_cases() -> ColumnElement[bool]:
    """Cases not closed.

    As a list of states, not "!= closed": an index led by status (or by assignee and status) then reads
    the open cases alone instead of filtering out half a million closed ones.
    """
    return Case.status.in_(open_states())


def overdue_condition(today: date) -> ColumnElement[bool]:
    """Open cases whose deadline has passed."""
    return and_(open_cases(), Case.due_on.is_not(None), Case.due_on < today)


def awaiting_acknowledgement_states() -> list[str]:
    """Every state, in any loaded workflow, from which a referral can be acknowledged."""
    states = set()
    for workflow in flows.registry():
        states |= {s.name for s in workflow.states if workflow.spec_for(s.name, "acknowledge") is not None}
    return sorted(states)


def unread_messages_condition() -> ColumnElement[bool]:
    """Cases with a reporter message no one in the offices has read."""
    # Driven from ix_messages_unread (few rows), not by probing the messages of every case.
    unread = select(Message.case_id).where(Message.direction == "from_reporter", Message.read_at.is_(None))
    return Case.id.in_(unread)


def _mine(user: User, today: date) -> ColumnElement[bool]:
    return and_(open_cases(), Case.assignee_id == user.id)


def open_states() -> list[str]:
    """Every state but closed, in any loaded workflow (a case's status is always one of them)."""
    return sorted({s.name for workflow in flows.registry() for s in workflow.states} - {CLOSED_STATE})


def _my_office(user: User, today: date) -> ColumnElement[bool]:
    if user.case_office is None:
        return false()
    return and_(Case.office == user.case_office, open_cases())


WORKERS = ("intake", "investigator", "conduct_officer", "police_liaison")

QUEUES: dict[str, Queue] = {
    q.name: q
    for q in (
        Queue("new", "New reports", lambda user, today: Case.status == "received"),
        Queue("mine", "My cases", _mine, WORKERS),
        Queue("office", "My office's cases", _my_office, WORKERS),
        Queue("unassigned", "Unassigned", lambda user, today: and_(open_cases(), Case.assignee_id.is_(None))),
        Queue("overdue", "Overdue", lambda user, today: overdue_condition(today)),
        Queue(
            "awaiting_acknowledgement",
            "Awaiting acknowledgement",
            lambda user, today: and_(
                Case.status.in_(awaiting_acknowledgement_states()), Case.acknowledged_at.is_(None)
            ),
        ),
        Queue("unread", "Unread reporter messages", lambda user, today: unread_messages_condition()),
        Queue("all", "All cases", lambda user, today: true()),
    )
}


def queues_for(user: User) -> list[Queue]:
    """The queues that make sense for the user's role, in display order."""
    return [q for q in QUEUES.values() if q.roles is None or user.role in q.roles]


def default_queue(user: User) -> str:
    """The queue a role starts from."""
    return {"intake": "new", "auditor": "all"}.get(user.role, "mine")


def queue_condition(user: User, name: str, today: date) -> ColumnElement[bool]:
    """The condition of one queue, to combine with the visibility clause and other filters."""
    return QUEUES[name].condition(user, today)


# A queue tab is counted exactly up to here; beyond it the tab says "100+". Every tab is counted on
# every queue page, so the cap bounds that work (the case list counts its results up to 1,000).
COUNT_CAP = 100


def queue_counts(user: User, today: date) -> dict[str, int]:
    """How many visible cases each of the user's queues holds, counted up to COUNT_CAP + 1, in one query.

    One capped subquery per queue, each read from its own index, instead of one pass over every case.
    """
    queues = queues_for(user)
    visible = access.visibility_clause(user)
    columns = [
        select(func.count())
        .select_from(select(Case.id).where(visible, q.condition(user, today)).limit(COUNT_CAP + 1).subquery())
        .scalar_subquery()
        .label(q.name)
        for q in queues
    ]
    row = db.session.execute(select(*columns)).one()
    return {q.name: row[i] or 0 for i, q in enumerate(queues)}


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: the (created_at, id) of the last case shown."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.created_at.isoformat(timespec='microseconds')}_{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """Parse a cursor; a malformed one is ignored (the first page is shown)."""
        if not text:
            return None
        stamp, _, ident = text.rpartition("_")
        if not ident.isdigit() or len(ident) > 9:
            return None
        try:
            return cls(datetime.fromisoformat(stamp).replace(tzinfo=None), int(ident))
        except ValueError:
            return None


def keyset_page(query: Select, after: Cursor | None, size: int = PAGE_SIZE) -> Select:
    """Newest first; rows strictly after ``after`` in (created_at, id) descending order. No OFFSET."""
    if after is not None:
        query = query.where(
            or_(Case.created_at < after.created_at, and_(Case.created_at == after.created_at, Case.id < after.id))
        )
    return query.order_by(Case.created_at.desc(), Case.id.desc()).limit(size + 1)


@dataclass
class Page:
    cases: list[Case]
    next_cursor: Cursor | None


def queue_page(user: User, name: str, today: date, after: Cursor | None = None, size: int = PAGE_SIZE) -> Page:
    """One page of a queue, built on ``access.visible_cases(user)``."""
    query = access.visible_cases(user).where(queue_condition(user, name, today)).options(selectinload(Case.assignee))
    rows = list(db.session.scalars(keyset_page(query, after, size)))
    more = len(rows) > size
    rows = rows[:size]
    cursor = Cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return Page(rows, cursor)


def overdue_cases(today: date) -> list[Case]:
    """Every overdue case, oldest deadline first (for the daily job, not a staff read)."""
    query = select(Case).where(overdue_condition(today)).order_by(Case.due_on, Case.reference)
    return list(db.session.scalars(query))
