"""The filtered list of every case a user may see: filters, full-text search, keyset pages, counts.

Everything starts from access.visible_cases(user), so a recused, restricted or out-of-scope case
never appears in a page, a count or an export. Pages are keyset pages (no OFFSET): the cursor is
the last row's sort key, opaque to the browser.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Select, and_, bindparam, exists, false, func, select, tuple_

from casework import audit, search
from casework.access import may_read_content, visible_cases
from casework.cases.queries import CLOSED_STATE, ROW_COLUMNS, CaseListRow, case_list_rows, kept_statement, open_states
from casework.clock import local_today
from casework.extensions import db
from casework.flows import known_states, registry
from casework.models import Case, CaseBehaviour, CasePlatform, User

SORTS = {"newest": "Newest first", "oldest": "Oldest first", "due": "Due date (soonest first)"}
PAGE_SIZES = (25, 50, 100)
COUNT_CAP = 1000  # counted exactly up to here; beyond it the page says "more than 1,000"
OPEN = "open"  # the pseudo-state "any state but closed"


@dataclass(frozen=True)
class CaseFilters:
    """What a user asked the list for. Empty values mean "any"."""

    state: str = ""
    office: str = ""
    assignee: str = ""  # "me", "none" or a user id
    platform: str = ""
    behaviour: str = ""
    risk: str = ""
    disposition: str = ""
    urgent: bool = False
    overdue: bool = False
    created_from: date | None = None
    created_to: date | None = None
    q: str = ""
    sort: str = "newest"
    per_page: int = 50
    after: str = field(default="", compare=False)  # the opaque cursor

    def used(self) -> list[str]:
        """The names of the filters in use (what the audit trail records, never their text)."""
        skip = {"sort", "per_page", "after", "q"}
        return [f.name for f in fields(self) if f.name not in skip and getattr(self, f.name)]

    @property
    def has_text(self) -> bool:
        return bool(search.terms(self.q))


class CaseRow(NamedTuple):
    """One row of a page: a tuple of plain values, so that a table draws a row it has drawn before once
    (templating.RowDrawer)."""

    id: int
    reference: str
    status: str
    office: str
    risk_level: str | None
    urgent: bool
    due_on: date | None
    created_at: datetime
    disposition: str | None
    assignee_name: str | None
    platforms: tuple[str, ...] = ()


@dataclass(frozen=True)
class CasePage:
    rows: list[CaseRow]
    count: int
    count_is_exact: bool
    next_cursor: str | None
    first_page: bool


# --- cursors -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts (the last row's sort key and id), and the count page 1 found."""

    key: date | datetime | None
    id: int
    count: int
    count_is_exact: bool


# A function of (cursor, size) giving the statement of the rows after the cursor, and its parameters.
PageQuery = Callable[[Cursor | None, int], tuple[Select, dict]]


def encode_cursor(sort: str, row: CaseRow, count: int, exact: bool) -> str:
    if sort == "due":
        key = row.due_on.isoformat() if row.due_on else None
    else:
        key = row.created_at.isoformat(timespec="microseconds")
    raw = json.dumps([sort, key, row.id, count, exact], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: str, cursor: str) -> Cursor | None:
    """The cursor's position, or None when it is missing, malformed or made for another sort."""
    if not cursor or len(cursor) > 200:
        return None
    try:
        kind, key, case_id, count, exact = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if kind != sort or not all(isinstance(v, int) for v in (case_id, count)) or not isinstance(exact, bool):
            return None
        if sort == "due":
            position = date.fromisoformat(key) if key is not None else None
        else:
            position = datetime.fromisoformat(key)
        return Cursor(position, case_id, max(count, 0), exact)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None


# --- the query ---------------------------------------------------------------------------------


def text_condition(user: User, filters: CaseFilters, *, common: bool = False):
    """The full-text part of the filters (None without text; never true for administrators).

    `common`: the words were counted in at least search.DRIVE_BY_SORT_FROM cases (see search.match_clause).
    """
    if not filters.q:
        return None
    if not may_read_content(user):
        return false()  # administrators never search case text
    if not filters.has_text:
        return None
    return search.match_clause(user, db.session.get_bind().dialect.name, common=common)


_UNSET = object()


def filter_conditions(user: User, filters: CaseFilters, today: date, text_match=_UNSET) -> list:
    """SQL conditions for the filters (on top of the visibility clause)."""
    conditions = []
    if filters.state == OPEN:
        conditions.append(Case.status != CLOSED_STATE)
    elif filters.state:
        conditions.append(Case.status == filters.state)
    if filters.office:
        conditions.append(Case.office == filters.office)
    if filters.assignee == "me":
        conditions.append(Case.assignee_id == user.id)
    elif filters.assignee == "none":
        conditions.append(Case.assignee_id.is_(None))
    elif filters.assignee.isdigit():
        conditions.append(Case.assignee_id == int(filters.assignee))
    if filters.platform:
        conditions.append(exists().where(CasePlatform.case_id == Case.id, CasePlatform.platform == filters.platform))
    if filters.behaviour:
        conditions.append(
            exists().where(CaseBehaviour.case_id == Case.id, CaseBehaviour.behaviour == filters.behaviour)
        )
    if filters.risk:
        conditions.append(Case.risk_level == filters.risk)
    if filters.disposition:
        conditions.append(Case.disposition == filters.disposition)
        if not filters.state:  # only closed cases have one (a check constraint); said, ix_cases_status_due serves
            conditions.append(Case.status == CLOSED_STATE)
    if filters.urgent:
        conditions.append(Case.urgent.is_(True))
    if filters.overdue:
        conditions.append(and_(Case.due_on < today, Case.status != CLOSED_STATE))
    if filters.created_from:
        conditions.append(Case.created_at >= datetime.combine(filters.created_from, datetime.min.time()))
    if filters.created_to and filters.created_to < date.max:  # to the calendar's last day: no end at all
        conditions.append(
            Case.created_at < datetime.combine(filters.created_to + timedelta(days=1), datetime.min.time())
        )
    text_match = text_condition(user, filters) if text_match is _UNSET else text_match
    if text_match is not None:
        conditions.append(text_match)
    return conditions


def ordered(stmt: Select, sort: str, cursor: Cursor | None) -> Select:
    if sort == "oldest":
        if cursor:
            stmt = stmt.where(tuple_(Case.created_at, Case.id) > tuple_(cursor.key, cursor.id))
        return stmt.order_by(Case.created_at.asc(), Case.id.asc())
    if sort == "due":  # the dated cases first, those without a deadline after them (see page_records)
        if cursor and cursor.key is not None:
            stmt = stmt.where(tuple_(Case.due_on, Case.id) > tuple_(cursor.key, cursor.id))
        elif cursor:
            stmt = stmt.where(Case.due_on.is_(None), Case.id > cursor.id)
        return stmt.order_by(Case.due_on.asc().nulls_last(), Case.id.asc())
    if cursor:
        stmt = stmt.where(tuple_(Case.created_at, Case.id) < tuple_(cursor.key, cursor.id))
    return stmt.order_by(Case.created_at.desc(), Case.id.desc())


def page_records(page: PageQuery, sort: str, cursor: Cursor | None, size: int) -> list[CaseListRow]:
    """Up to `size` rows after the cursor, in the sort's order; `page(position, limit)` gives the statement (and
    its parameters) of the rows after a position (kept_page, rows_by_id).

    In due-date order a page that starts among the dated cases reads them alone, by the index from the
    cursor on, and goes on with the cases without a deadline only if the dated ones run out: one
    condition for both ("after the cursor, or undated") would make the database read from the start.
    """
    records = case_list_rows(db.session.execute(*page(cursor, size)))
    if sort == "due" and cursor and cursor.key is not None and len(records) < size:
        undated = Cursor(None, 0, cursor.count, cursor.count_is_exact)
        records += case_list_rows(db.session.execute(*page(undated, size - len(records))))
    return records


# --- kept statements: built once per user, filters (never their words), day and kind of cursor ----------------

_AFTER_ID = bindparam("after_id", type_=Case.id.type)
_AFTER_KEY = {"due": bindparam("after_key", type_=Case.due_on.type)}
_AFTER_CREATED = bindparam("after_key", type_=Case.created_at.type)
_PAGE_IDS = bindparam("page_ids", type_=Case.id.type, expanding=True)
_SPAN_EDGE = bindparam("span_edge", type_=Case.created_at.type)


def _kept_key(name: str, user: User, filters: CaseFilters, today: date, *more) -> tuple:
    """The key of a kept statement of the list (cases.queries.kept_statement): who asks, the filters, the day and
    whether there is search text, never the text itself (its words are a parameter: words_of)."""
    text_kind = "words" if filters.has_text else "no words" if filters.q else ""
    without_text = replace(filters, q="", after="")
    return (name, user.id, user.role, user.office, user.active, without_text, text_kind, today, *more)


def words_of(user: User, filters: CaseFilters) -> dict[str, str]:
    """The parameter holding the words of the filters' search text, for any statement with a text condition
    (search.words_parameter); empty without words, or for a user who may not search case text."""
    if not (filters.has_text and may_read_content(user)):
        return {}
    return search.words_parameter(user, filters.q, db.session.get_bind().dialect.name)


def _shape(position: Cursor | None) -> str | None:
    """The kind of cursor a kept statement is built for: none, a sort key, or among the undated cases."""
    if position is None:
        return None
    return "undated" if position.key is None else "keyed"


def _kept_position(sort: str, shape: str | None) -> Cursor | None:
    """A cursor of that kind whose key and id are the parameters after_key and after_id (_position_params)."""
    if shape is None:
        return None
    return Cursor(None if shape == "undated" else _AFTER_KEY.get(sort, _AFTER_CREATED), _AFTER_ID, 0, False)


def _position_params(position: Cursor | None) -> dict:
    if position is None:
        return {}
    if position.key is None:
        return {"after_id": position.id}
    return {"after_key": position.key, "after_id": position.id}


def kept_page(user: User, filters: CaseFilters, today: date, *, common: bool = False) -> PageQuery:
    """The page statements of the filters, their search text (if any) in the page statement itself; kept, with the
    cursor's key and id and the words as parameters. `common`: see text_condition."""
    words = words_of(user, filters)

    def page(position: Cursor | None, limit: int) -> tuple[Select, dict]:
        shape = _shape(position)
        key = _kept_key("case page", user, filters, today, shape, limit, common)
        statement = kept_statement(key, lambda: _page_statement(user, filters, today, shape, limit, common))
        return statement, {**_position_params(position), **words}

    return page


def _page_statement(
    user: User, filters: CaseFilters, today: date, shape: str | None, limit: int, common: bool
) -> Select:
    text_match = text_condition(user, filters, common=common)
    position = _kept_position(filters.sort, shape)
    return ordered(filtered_cases(user, filters, today, text_match), filters.sort, position).limit(limit)


def rows_by_id(user: User, sort: str, page_ids: Callable[[Cursor | None, int], list[int]]) -> PageQuery:
    """The page statements of a text search whose pages are found as ids first (text_page_ids): the visible cases
    with those ids, in the sort's order; kept per user and sort."""

    def page(position: Cursor | None, limit: int) -> tuple[Select, dict]:
        key = ("case rows by id", user.id, user.role, user.office, user.active, sort)
        statement = kept_statement(key, lambda: ordered(_rows(user).where(Case.id.in_(_PAGE_IDS)), sort, None))
        return statement, {"page_ids": page_ids(position, limit)}

    return page


# --- a text search's page, found as ids ----------------------------------------------------------------------


def text_page_ids(user: User, filters: CaseFilters, today: date, count: int, cursor: Cursor | None):
    """For a text search, a function of (cursor, size) giving the ids of that page, or None: then the text
    condition goes into the page statement itself (kept_page).

    PostgreSQL: the ids from the search index table alone (search.over_index): the matches are filtered and
    sorted there, and only the page's cases are visited; for words in at least search.DRIVE_BY_SORT_FROM cases,
    newest or oldest first, _postgresql_recent_page_ids. SQLite, for such words: _sqlite_window_page_ids.
    """
    if not (filters.has_text and may_read_content(user)):
        return None
    if db.session.get_bind().dialect.name == "postgresql":
        few = count < search.DRIVE_BY_SORT_FROM
        if few or filters.sort not in ("newest", "oldest"):
            return lambda position, limit: _postgresql_page_ids(user, filters, today, position, limit, few=few)
        return lambda position, limit: _postgresql_recent_page_ids(user, filters, today, position, limit)
    if filters.sort not in ("newest", "oldest") or count < search.DRIVE_BY_SORT_FROM:
        return None
    edge = _sqlite_window_edge(user, filters, cursor)
    if edge is None:
        return None
    return lambda position, limit: _sqlite_window_page_ids(user, filters, today, position, limit, edge)


def _matching_ids(user: User, filters: CaseFilters, today: date) -> Select:
    """The ids of the visible cases matching the filters other than the search text."""
    return visible_cases(user).with_only_columns(Case.id).where(*filter_conditions(user, filters, today, None))


def _postgresql_page_ids(
    user: User,
    filters: CaseFilters,
    today: date,
    position: Cursor | None,
    limit: int,
    *,
    few: bool = False,
    span: tuple[str, datetime] | None = None,
) -> list[int]:
    """PostgreSQL: the page's ids, selected on the search index table (or, if they cannot be, on the cases).
    `span`: (part, edge), only the cases reported from `edge` on ("recent", newest first; up to it, oldest first)
    or the others ("beyond")."""
    shape, part = _shape(position), span and span[0]
    key = _kept_key("case page ids", user, filters, today, shape, limit, few, part)
    statement = kept_statement(key, lambda: _postgresql_ids_statement(user, filters, today, shape, limit, few, part))
    params = {**_position_params(position), **words_of(user, filters), **({"span_edge": span[1]} if span else {})}
    return list(db.session.scalars(statement, params))


def _postgresql_ids_statement(
    user: User, filters: CaseFilters, today: date, shape: str | None, limit: int, few: bool, part: str | None
) -> Select:
    ids = _matching_ids(user, filters, today)
    if part:
        recent = Case.created_at >= _SPAN_EDGE if filters.sort == "newest" else Case.created_at <= _SPAN_EDGE
        ids = ids.where(recent if part == "recent" else ~recent)
    page = ordered(ids, filters.sort, _kept_position(filters.sort, shape)).limit(limit)
    moved = search.over_index(page, user, few=few)
    return page.where(text_condition(user, filters)) if moved is None else moved


RECENT_SHARE = 32  # PostgreSQL: a common word's page is looked for first among the cases of this share of all time


def _postgresql_recent_page_ids(
    user: User, filters: CaseFilters, today: date, position: Cursor | None, limit: int
) -> list[int]:
    """PostgreSQL, a common word, newest or oldest first: the page's ids, looked for first among the cases reported
    in a span of time next to the cursor (1/RECENT_SHARE of the time all cases span), then, if too few match
    there, among the cases beyond it.

    The GIN index gives its matches in no order, so a page of a common word looks up every match in the table
    to sort them (a word in 6,300 of a million cases: 6,000 rows, 9 ms). Within the span, the engine first
    intersects the matches with the index on creation time and looks up only the cases in both. The span and
    the rest divide the list at one instant, so the page is the same wherever that falls: only its cost depends
    on it. A word in fewer than about 1 in 600 cases fills no page from the span and pays for it on top (on a
    million cases, a word in 1,560: no slower at 1/32; at 1/64 it lost 3.5 ms, and the word in 6,300 gained 8 ms
    at either).
    """
    newest = filters.sort == "newest"
    first, last = db.session.execute(select(func.min(Case.created_at), func.max(Case.created_at))).one()
    if first is None:
        return []
    width = (last - first) / RECENT_SHARE
    start = position.key if position else (last if newest else first)
    try:
        edge = start - width if newest else start + width
    except OverflowError:  # a cursor (written by hand) at an end of the calendar: the span would reach past it
        return _postgresql_page_ids(user, filters, today, position, limit)
    found = _postgresql_page_ids(user, filters, today, position, limit, span=("recent", edge))
    if len(found) < limit:  # asked for a whole page too, so one statement is kept for both parts
        beyond = _postgresql_page_ids(user, filters, today, position, limit, span=("beyond", edge))
        found += beyond[: limit - len(found)]
    return found


WINDOW_PAGES = 4  # SQLite: a common word's page looks first among this many pages of matches next in id order
# ... unless they are spread over more than this many ids each (the window then reaches back further than the
# whole list is worth). A word in 0.6% of a million cases (one match per 160 ids): 15.5 -> 13.5 ms a search page.
WINDOW_SPREAD = 200


def _sqlite_window_edge(user: User, filters: CaseFilters, cursor: Cursor | None) -> int | None:
    """SQLite, a common word: the id where the window of the next matches in id order ends (see
    _sqlite_window_page_ids), or None when there is no window worth looking in."""
    newest = filters.sort == "newest"
    beyond = cursor.id if cursor else None
    start = cursor.id if cursor else (db.session.scalar(select(func.max(Case.id))) or 0 if newest else 0)
    window = (filters.per_page + 1) * WINDOW_PAGES * (4 if filters.used() else 1)
    edge = search.nth_match_id(user, filters.q, window, descending=newest, beyond=beyond)
    if edge is None or abs(start - edge) > window * WINDOW_SPREAD:
        return None
    return edge


def _sqlite_window_page_ids(
    user: User, filters: CaseFilters, today: date, position: Cursor | None, limit: int, edge: int
) -> list[int]:
    """SQLite, a common word: the page's ids found among the next matches in id order, when that is sure to be right.

    Walking the sort index against the list of every match costs a list of every match (for a word in 40% of a
    million cases, 400,000 ids and a quarter of a second). Cases are numbered as they come, so the newest
    matches are nearly always those with the highest ids: take the next window of matches in id order, up to
    `edge` (FTS5 stops there), sort them, and keep the page if it is full and no case outside the window (any
    case, visible or not) falls between the cursor and the page's last row. Otherwise, the list of every match.
    """
    newest = filters.sort == "newest"
    shape, words = _shape(position), words_of(user, filters)
    key = _kept_key("case window ids", user, filters, today, shape, limit)
    statement = kept_statement(key, lambda: _sqlite_window_statement(user, filters, today, shape, limit))
    window = {"cw_low": edge, "cw_high": 2**63 - 1} if newest else {"cw_low": 0, "cw_high": edge}
    found = db.session.execute(statement, {**_position_params(position), **words, **window}).all()
    if len(found) == limit:
        last = tuple_(found[-1].created_at, found[-1].id)
        order = tuple_(Case.created_at, Case.id)
        between = [order > last, Case.id < edge] if newest else [order < last, Case.id > edge]
        if position:
            after = tuple_(position.key, position.id)
            between.append(order < after if newest else order > after)
        if db.session.execute(select(Case.id).where(*between).limit(1)).first() is None:
            return [row.id for row in found]
    every_match = _matching_ids(user, filters, today).where(text_condition(user, filters, common=True))
    return list(db.session.scalars(ordered(every_match, filters.sort, position).limit(limit), words))


def _sqlite_window_statement(user: User, filters: CaseFilters, today: date, shape: str | None, limit: int) -> Select:
    in_window = search.match_clause(user, "sqlite", within_ids=True)
    window = _matching_ids(user, filters, today).add_columns(Case.created_at).where(in_window)
    return ordered(window, filters.sort, _kept_position(filters.sort, shape)).limit(limit)


def _rows(user: User) -> Select:
    """The visible cases, as list columns."""
    return (
        visible_cases(user)
        .with_only_columns(*ROW_COLUMNS)
        .select_from(Case)
        .outerjoin(User, User.id == Case.assignee_id)
    )


def filtered_cases(user: User, filters: CaseFilters, today: date, text_match=_UNSET) -> Select:
    """The visible cases matching `filters`, as list columns (unordered). A statement with search text takes
    its words as a parameter when it runs (words_of)."""
    return _rows(user).where(*filter_conditions(user, filters, today, text_match))


def _row(record: CaseListRow, platforms: tuple[str, ...] = ()) -> CaseRow:
    return CaseRow(
        id=record.id,
        reference=record.reference,
        status=record.status,
        office=record.office,
        risk_level=record.risk_level,
        urgent=record.urgent,
        due_on=record.due_on,
        created_at=record.created_at,
        disposition=record.disposition,
        assignee_name=record.assignee_name,
        platforms=platforms,
    )


def count_cases(user: User, filters: CaseFilters, today: date) -> tuple[int, bool]:
    """(count, exact): counted exactly up to COUNT_CAP, otherwise (COUNT_CAP, False).

    The statement is kept per user, filters and day (built, it costs twice what the count does); the words of a
    search are its parameter.
    """
    key = _kept_key("case count", user, filters, today, COUNT_CAP, registry())
    statement = kept_statement(key, lambda: _count_statement(user, filters, today))
    found = db.session.scalar(statement, words_of(user, filters))
    return (found, True) if found <= COUNT_CAP else (COUNT_CAP, False)


def _count_statement(user: User, filters: CaseFilters, today: date) -> Select:
    conditions = filter_conditions(user, filters, today, text_match=None)
    # With the state as a list, the count reads an index led by status (ix_cases_status_office_due) alone:
    # open cases (asked for, or implied by "overdue") skip the closed ones in it, and without a state
    # the list of every state still lets the office lead.
    if filters.state == OPEN or (filters.overdue and not filters.state):
        conditions.append(Case.status.in_(open_states()))
    elif not filters.state:
        conditions.append(Case.status.in_(known_states()))
    query = visible_cases(user).with_only_columns(Case.id).where(*conditions)
    if filters.q and not may_read_content(user):
        query = query.where(false())  # administrators never search case text
    elif filters.has_text:  # joined to the index, the count stops at its cap
        query = search.join_matches(query, user, db.session.get_bind().dialect.name)
    capped = query.limit(COUNT_CAP + 1).subquery()
    return select(db.func.count()).select_from(capped)


_PLATFORMS_OF = (
    select(CasePlatform.case_id, CasePlatform.platform)
    .where(CasePlatform.case_id.in_(bindparam("case_ids", expanding=True)))
    .order_by(CasePlatform.id)
)
PLATFORMS_CHUNK = 1000  # case ids per statement (SQLite allows 32,766 parameters; an export may list 100,000 cases)


def platforms_of(case_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """The platforms of each case, in the order they were reported (for pages and exports)."""
    by_case: dict[int, list[str]] = {}
    for start in range(0, len(case_ids), PLATFORMS_CHUNK):
        chunk = case_ids[start : start + PLATFORMS_CHUNK]
        for case_id, platform in db.session.execute(_PLATFORMS_OF, {"case_ids": chunk}):
            by_case.setdefault(case_id, []).append(platform)
    return {case_id: tuple(platforms) for case_id, platforms in by_case.items()}


def list_cases(user: User, filters: CaseFilters, *, today: date | None = None) -> CasePage:
    """One keyset page of the visible cases matching `filters`, and the (capped) count; audited.

    The count is taken on the first page and carried in the cursor, so later pages cost no more than the first;
    it also tells a text search whether its words are common (search.match_clause).
    """
    today = today or local_today()
    cursor = decode_cursor(filters.sort, filters.after)
    if filters.has_text:
        search.plan_for_the_words()
    if cursor:
        count, exact = cursor.count, cursor.count_is_exact
    else:
        count, exact = count_cases(user, filters, today)
    page_ids = text_page_ids(user, filters, today, count, cursor)
    if page_ids:
        page = rows_by_id(user, filters.sort, page_ids)
    else:
        page = kept_page(user, filters, today, common=filters.has_text and count >= search.DRIVE_BY_SORT_FROM)
    records = page_records(page, filters.sort, cursor, filters.per_page + 1)
    platforms = platforms_of([r.id for r in records[: filters.per_page]])
    rows = [_row(r, platforms.get(r.id, ())) for r in records[: filters.per_page]]
    next_cursor = encode_cursor(filters.sort, rows[-1], count, exact) if len(records) > filters.per_page else None
    audit.record(
        "case.search",
        user,
        details={
            "filters": filters.used(),
            "has_text": filters.has_text,
            "sort": filters.sort,
            "first_page": cursor is None,
            "rows": len(rows),
        },
    )
    return CasePage(rows, count, exact, next_cursor, cursor is None)
