"""Queue queries: small composable pieces over ``access.visible_cases(user)`` (DESIGN.md rule 1).

Each queue is a condition on ``Case`` and an order; ``queue_page`` combines the visibility clause, a queue and
keyset pagination in the queue's order: newest first on (created_at, id), or earliest deadline first on
(due_on, id) for the overdue queue. Search, dashboards and exports can reuse ``QUEUES``, ``queue_condition``,
``open_cases`` and ``keyset_page``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import Integer, Select, and_, bindparam, false, func, select, true, tuple_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Alias
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import InternalTraversal

from casework import access, flows
from casework.extensions import db
from casework.models import Case, Message, User

PAGE_SIZE = 50
CLOSED_STATE = "closed"


@dataclass(frozen=True)
class Order:
    """How a queue is listed and keyset-paged: on (key, id), both ascending or both descending."""

    name: str
    key: InstrumentedAttribute
    descending: bool
    parse: Callable[[str], date | datetime]  # a cursor's key back from its text


def _parse_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=None)


# The same sort names as the case list (reports.listing.SORTS). A keyset order lists only rows with a key ("due":
# cases with a deadline; the overdue queue holds no others), so (due_on, id) reads ix_cases_due in order.
ORDERS: dict[str, Order] = {
    o.name: o
    for o in (
        Order("newest", Case.created_at, descending=True, parse=_parse_datetime),
        Order("due", Case.due_on, descending=False, parse=date.fromisoformat),
    )
}


@dataclass(frozen=True)
class Queue:
    name: str
    label: str
    condition: Callable[[User, date], ColumnElement[bool]]
    roles: tuple[str, ...] | None = None  # None: every role that sees the queues
    order: str = "newest"  # a key of ORDERS
    # Counted among the cases the role sees (_scope_index); not when another index finds it first (the user's
    # own cases, by assignee; unread messages, from the messages).
    within_scope: bool = True


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
    return [state for state in flows.known_states() if state != CLOSED_STATE]


def _my_office(user: User, today: date) -> ColumnElement[bool]:
    if user.case_office is None:
        return false()
    return and_(Case.office == user.case_office, open_cases())


WORKERS = ("intake", "investigator", "conduct_officer", "police_liaison")

QUEUES: dict[str, Queue] = {
    q.name: q
    for q in (
        Queue("new", "New reports", lambda user, today: Case.status == "received"),
        Queue("mine", "My cases", _mine, WORKERS, within_scope=False),
        Queue("office", "My office's cases", _my_office, WORKERS),
        Queue("unassigned", "Unassigned", lambda user, today: and_(open_cases(), Case.assignee_id.is_(None))),
        # Most overdue first: the oldest deadline is the one to chase.
        Queue("overdue", "Overdue", lambda user, today: overdue_condition(today), order="due"),
        Queue(
            "awaiting_acknowledgement",
            "Awaiting acknowledgement",
            lambda user, today: and_(
                Case.status.in_(awaiting_acknowledgement_states()), Case.acknowledged_at.is_(None)
            ),
        ),
        Queue(
            "unread",
            "Unread reporter messages",
            lambda user, today: unread_messages_condition(),
            within_scope=False,
        ),
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
    The statement depends only on who asks, the day and the loaded workflows, so it is written out once and kept
    (building eight subqueries cost four times what running them does).
    """
    key = ("queue counts", user.id, user.role, user.office, user.active, today, COUNT_CAP, flows.registry())
    queues, sql = kept_statement(key, lambda: _counts_sql(user, today))
    row = db.session.connection().exec_driver_sql(sql).one()
    return {q.name: row[i] or 0 for i, q in enumerate(queues)}


_kept_statements: dict[tuple, object] = {}
MAX_KEPT_STATEMENTS = 1000


def kept_statement(key: tuple, build: Callable[[], object]):
    """What `build()` returns for `key`, built once and kept (all dropped when MAX_KEPT_STATEMENTS are kept).

    For statements that are run on every page but depend on few things: the key must name every one of them
    (the user's id, role and active flag for anything built on the visibility clause), and never search text.
    """
    kept = _kept_statements.get(key)
    if kept is None:
        if len(_kept_statements) >= MAX_KEPT_STATEMENTS:
            _kept_statements.clear()
        kept = _kept_statements[key] = build()
    return kept


def _counts_sql(user: User, today: date) -> tuple[list[Queue], str]:
    """The tabs' counts as SQL text, with their values written in: they all come from the server (who asks, the
    day, states and caps; never what a user typed).

    PostgreSQL's driver prepares a statement that a connection runs often, but with parameters PostgreSQL judged
    a generic plan of the tabs' counts worse than planning them for their values, so it planned them afresh on
    every queue page (2 of their 2.4 ms); with nothing left to plan for, it keeps one plan. A partial index
    serves a query only if its condition is in the query as written: the investigator's (models.case) is. And
    text goes to the driver as it is, without SQLAlchemy writing the values in again at every run and building
    ORM rows of the result (0.3 ms of a queue page's 3.3).
    """
    queues = queues_for(user)
    visible = access.visibility_clause(user)
    within_scope = _scope_index(user)
    columns = []
    for q in queues:
        capped = select(Case.id).where(visible, q.condition(user, today)).limit(COUNT_CAP + 1)
        if q.within_scope:
            capped = within_scope(capped)
        columns.append(select(func.count()).select_from(capped.subquery()).scalar_subquery().label(q.name))
    written_in = select(*columns).compile(dialect=db.session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    return queues, str(written_in)


class IndexedBy(Alias):
    """A table under its own name, read on SQLite from the named index only (`cases AS cases INDEXED BY ...`);
    elsewhere the plain table."""

    inherit_cache = True
    _traverse_internals = [*Alias._traverse_internals, ("index", InternalTraversal.dp_string)]
    index: str

    @classmethod
    def of(cls, table, index: str) -> IndexedBy:
        alias = cls._construct(table, name=table.name)
        alias.index = index
        return alias


@compiles(IndexedBy)
def _plain_table(element: IndexedBy, compiler, **kw) -> str:
    return compiler.visit_alias(element, **kw)


@compiles(IndexedBy, "sqlite")
def _indexed_table(element: IndexedBy, compiler, **kw) -> str:
    sql = compiler.visit_alias(element, **kw)
    return f"{sql} INDEXED BY {element.index}" if kw.get("asfrom") else sql


def _scope_index(user: User) -> Callable[[Select], Select]:
    """What makes a queue tab's count read, on SQLite, the partial index of the cases the user's role sees,
    when it has one: a conduct officer's or police liaison's (ix_cases_<office>_status_office_due, the cases
    ever referred to the office) or an investigator's (ix_cases_investigator_status_office_due).

    SQLite's statistics describe such an index by its average state (in the referral offices' two states,
    closed and the office's own, hold nearly all of it), so SQLite prices a tab's list of open states at several
    times its cost and walks a whole state's index instead, looking up each case: a police liaison's tabs took
    0.9 s on a million cases.
    """
    if not user.active:  # an inactive user's visibility clause is false, not the role's scope
        return lambda query: query
    if user.role == "investigator":
        index = "ix_cases_investigator_status_office_due"
    elif user.role in access.REFERRAL_ROLES:
        index = f"ix_cases_{access.REFERRAL_ROLES[user.role]}_status_office_due"
    else:
        return lambda query: query
    return ClauseAdapter(IndexedBy.of(Case.__table__, index)).traverse


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: the order it belongs to and the (key, id) of the last case shown."""

    order: str
    key: date | datetime
    id: int

    def encode(self) -> str:
        key = self.key.isoformat(timespec="microseconds") if isinstance(self.key, datetime) else self.key.isoformat()
        return f"{self.order}_{key}_{self.id}"

    @classmethod
    def decode(cls, text: str | None, order: str) -> Cursor | None:
        """Parse a cursor for a queue listed in `order`; a malformed one, or one of another order, is ignored
        (the first page is shown)."""
        if not text or len(text) > 100:
            return None
        parts = text.split("_")
        if len(parts) != 3 or parts[0] != order or order not in ORDERS:
            return None
        _, key, ident = parts
        if not ident.isdigit() or len(ident) > 9:
            return None
        try:
            return cls(order, ORDERS[order].parse(key), int(ident))
        except ValueError:
            return None

    @classmethod
    def after(cls, order: str, row) -> Cursor:
        """The cursor that continues a page ending with `row` (a case, or a row with its columns)."""
        return cls(order, getattr(row, ORDERS[order].key.key), row.id)


def keyset_page(query: Select, order: str, after: bool, size: int = PAGE_SIZE) -> Select:
    """Rows in the order's (key, id) sequence, at most ``size + 1`` of them; with ``after``, only those strictly
    after the cursor given as the parameters of cursor_parameters(...). No OFFSET.

    A row-value comparison: both databases seek the (key, id) index to the cursor instead of reading the rows
    before it. The cursor is a parameter, so one statement serves every page.
    """
    spec = ORDERS[order]
    position = tuple_(spec.key, Case.id)
    if spec.key.expression.nullable:
        query = query.where(spec.key.is_not(None))
    if after:
        mark = tuple_(bindparam("after_key", type_=spec.key.type), bindparam("after_id", type_=Integer))
        query = query.where(position < mark if spec.descending else position > mark)
    if spec.descending:
        return query.order_by(spec.key.desc(), Case.id.desc()).limit(size + 1)
    return query.order_by(spec.key.asc(), Case.id.asc()).limit(size + 1)


def cursor_parameters(after: Cursor | None) -> dict:
    return {"after_key": after.key, "after_id": after.id} if after is not None else {}


@dataclass
class Page:
    cases: list[CaseListRow]
    next_cursor: Cursor | None


# What a row of a table of cases shows (queues, the case list, its export), with the assignee's name joined in
# (select from Case outer-joined to User): plain column rows, not the narrative, the reporter or the ORM
# objects a page of fifty cases would build for nothing.
ROW_COLUMNS = (
    Case.id,
    Case.reference,
    Case.status,
    Case.office,
    Case.risk_level,
    Case.urgent,
    Case.in_danger,
    Case.due_on,
    Case.deadline_label,
    Case.created_at,
    Case.disposition,
    User.display_name.label("assignee_name"),
)


class CaseListRow(NamedTuple):
    """A row of the ROW_COLUMNS, in their order. A database row looks each attribute up by name (half a
    microsecond, a dozen times per row of a table): this tuple reads them by position."""

    id: int
    reference: str
    status: str
    office: str
    risk_level: str | None
    urgent: bool
    in_danger: bool
    due_on: date | None
    deadline_label: str | None
    created_at: datetime
    disposition: str | None
    assignee_name: str | None


def case_list_rows(result) -> list[CaseListRow]:
    """The rows of a statement selecting the ROW_COLUMNS, as CaseListRows."""
    return [CaseListRow._make(row) for row in result]


def queue_page(user: User, name: str, today: date, after: Cursor | None = None, size: int = PAGE_SIZE) -> Page:
    """One page of a queue in the queue's order, built on ``access.visible_cases(user)``.

    The statement is kept per user, queue and day (with or without a cursor): building it cost more than
    running it.
    """
    order = QUEUES[name].order
    after = after if after is not None and after.order == order else None
    registry = flows.registry()
    key = ("queue page", user.id, user.role, user.office, user.active, name, today, size, after is not None, registry)
    statement = kept_statement(key, lambda: _queue_statement(user, name, today, after, size))
    rows = case_list_rows(db.session.execute(statement, cursor_parameters(after)))
    more = len(rows) > size
    rows = rows[:size]
    cursor = Cursor.after(order, rows[-1]) if more and rows else None
    return Page(rows, cursor)


def _queue_statement(user: User, name: str, today: date, after: Cursor | None, size: int) -> Select:
    query = (
        access.visible_cases(user)
        .where(queue_condition(user, name, today))
        .with_only_columns(*ROW_COLUMNS)
        .select_from(Case)
        .outerjoin(User, User.id == Case.assignee_id)
    )
    return keyset_page(query, QUEUES[name].order, after is not None, size)


def overdue_cases(today: date) -> list[Case]:
    """Every overdue case, oldest deadline first (for the daily job, not a staff read)."""
    query = select(Case).where(overdue_condition(today)).order_by(Case.due_on, Case.reference)
    return list(db.session.scalars(query))
