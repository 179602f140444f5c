"""The dashboard: counts and timings over the cases a user may see (never any content).

Figures are computed from access.visibility_clause(user), so each office sees its own scope and
administrators see counts over every case; the open counts, platforms and behaviours of a user who sees what
their role sees are summed from the case and report tallies instead (reports/tallies.py, access.tally_scope).
They are cached for a short
while per scope: one entry per role for the users who see what their role sees, one per user for those with
a recusal, a grant or a restricted case of their own; so a busy dashboard costs one computation a minute per
role and worker.
"""

from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate

from flask import Flask, current_app
from sqlalchemy import Date, and_, case, func, literal_column, select, text, union_all
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from casework import transactions
from casework.access import sees_as_role, tally_scope, visibility_clause
from casework.cases.queries import awaiting_acknowledgement_states, open_states
from casework.extensions import db
from casework.models import Case, CaseBehaviour, CasePlatform, CaseTally, ReportTally, User, utcnow

log = logging.getLogger(__name__)

WEEKS = 26
DEFAULT_CACHE_SECONDS = 60
REFRESH_AFTER = 0.75  # of an entry's life: from then on it is served while its successor is computed
_cache: dict[tuple, tuple[float, Dashboard]] = {}
_refreshing: set[tuple] = set()
_lock = threading.Lock()
clock = time.monotonic


@dataclass(frozen=True)
class Timing:
    """Median and 90th percentile of a duration, over `count` cases."""

    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True, eq=False)  # compared (and hashed) as itself: the routes draw each one once
class Dashboard:
    open_by_state_office: dict[tuple[str, str], int]
    weekly: list[tuple[date, int]]
    to_triage_hours: Timing
    to_close_days: Timing
    overdue: int
    awaiting_acknowledgement: int
    platforms: list[tuple[str, int]]
    behaviours: list[tuple[str, int]]
    computed_at: datetime

    @property
    def open_total(self) -> int:
        return sum(self.open_by_state_office.values())

    def open_by(self, position: int) -> dict[str, int]:
        """Open cases summed by state (position 0) or office (position 1)."""
        totals: dict[str, int] = {}
        for key, count in self.open_by_state_office.items():
            totals[key[position]] = totals.get(key[position], 0) + count
        return totals


def percentile(histogram: list[tuple[float, int]], fraction: float) -> float | None:
    """Linear-interpolated percentile of the values counted in `histogram`: (value, how many) pairs sorted by
    value (None when it counts nothing)."""
    ends = list(accumulate(n for _, n in histogram))  # the sorted values' positions each pair reaches
    if not ends or not ends[-1]:
        return None

    def value_at(index: int) -> float:
        return histogram[bisect_right(ends, index)][0]

    position = (ends[-1] - 1) * fraction
    low = int(position)
    high = min(low + 1, ends[-1] - 1)
    return value_at(low) + (value_at(high) - value_at(low)) * (position - low)


def _hours_between(later, earlier):
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


def _durations(
    visible: ColumnElement[bool], reached: InstrumentedAttribute, since: datetime, unit_hours: int
) -> Timing:
    """Median and 90th percentile of the time from report to `reached` (the first triage, or the closure), in
    units of `unit_hours`, over the cases that reached it since `since`.

    The database reads them from the index on (`reached`, created_at, the visibility columns) and counts them
    per tenth of an hour, so a few hundred rows come back instead of one per case (tens of thousands); the
    figures are shown to a tenth of an hour or of a day."""
    tenths = func.round(_hours_between(reached, Case.created_at) * 10)
    query = select(tenths, func.count()).where(reached >= since, visible).group_by(tenths)
    histogram = sorted((float(t) / 10 / unit_hours, n) for t, n in db.session.execute(query))
    count = sum(n for _, n in histogram)
    return Timing(count, percentile(histogram, 0.5), percentile(histogram, 0.9))


def _open_counts(
    visible: ColumnElement[bool], today: date, tallied_role: str | None
) -> list[tuple[str, str, int, int, int]]:
    """(state, office, open cases, overdue, awaiting acknowledgement) per state and office of the open cases.

    With `tallied_role` (the user sees what their role sees), from that role's case tallies (a few thousand
    rows); otherwise one pass over the open cases `visible` selects (an index-only scan of
    ix_cases_status_office_due plus the visibility probes). Awaiting acknowledgement has the definition of the
    "Awaiting acknowledgement" queue."""
    if tallied_role:
        row, scope, unacknowledged, weight = (
            CaseTally,
            tally_scope(tallied_role),
            CaseTally.unacknowledged,
            CaseTally.cases,
        )
    else:
        row, scope, unacknowledged, weight = Case, visible, Case.acknowledged_at.is_(None), literal_column("1")
    awaiting = and_(row.status.in_(awaiting_acknowledgement_states()), unacknowledged)
    query = (
        select(
            row.status,
            row.office,
            func.sum(weight),
            func.sum(case((row.due_on < today, weight), else_=0)),
            func.sum(case((awaiting, weight), else_=0)),
        )
        .where(row.status.in_(open_states()), scope)
        .group_by(row.status, row.office)
    )
    return [
        (state, office, int(n), int(overdue), int(awaiting))
        for state, office, n, overdue, awaiting in db.session.execute(query)
    ]


def _reports_per_day(visible: ColumnElement[bool], since: datetime) -> list[tuple[date, int]]:
    """The reports made since `since`, counted per day (from the index on created_at and the visibility
    columns)."""
    day = func.date(Case.created_at, type_=Date)
    query = select(day, func.count()).where(Case.created_at >= since, visible).group_by(day)
    return [(reported_on, count) for reported_on, count in db.session.execute(query)]


def _parts_reported(
    visible: ColumnElement[bool], since: datetime, tallied_role: str | None
) -> dict[str, list[tuple[str, int]]]:
    """How many of the reports made since `since` (a Monday) name each platform and each behaviour.

    With `tallied_role`, summed from that role's report tallies of the weeks since (a few thousand rows);
    otherwise the platforms and behaviours of each case `visible` selects, looked up by case (on a million cases,
    49,000 recent ones: 170 ms on PostgreSQL)."""
    if tallied_role:
        query = (
            select(ReportTally.kind, ReportTally.value, func.sum(ReportTally.cases))
            .where(ReportTally.week >= since.date(), tally_scope(tallied_role, ReportTally))
            .group_by(ReportTally.kind, ReportTally.value)
        )
    else:
        recent = select(Case.id).where(Case.created_at >= since, visible).cte("recent")
        query = union_all(
            *(
                select(literal_column(f"'{kind}'"), column, func.count())
                .join(recent, recent.c.id == case_id)
                .group_by(column)
                for kind, column, case_id in (
                    ("platform", CasePlatform.platform, CasePlatform.case_id),
                    ("behaviour", CaseBehaviour.behaviour, CaseBehaviour.case_id),
                )
            )
        )
    counts: dict[str, list[tuple[str, int]]] = {"platform": [], "behaviour": []}
    for kind, value, count in db.session.execute(query):
        counts[kind].append((value, int(count)))
    return counts


def _most_first(counts: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return sorted(counts, key=lambda item: (-item[1], item[0]))


def compute_dashboard(user: User, today: date) -> Dashboard:
    """Every figure of the dashboard for `user`'s scope."""
    if db.session.get_bind().dialect.name == "postgresql":
        # These aggregates look costly to the planner, which then JIT-compiles them: about 0.6 s of
        # compilation per query to save a few milliseconds of execution. Off, for this transaction only.
        db.session.execute(text("SET LOCAL jit = off"))
    visible = visibility_clause(user)
    now = utcnow()
    week_start = today - timedelta(days=today.weekday()) - timedelta(weeks=WEEKS - 1)
    since = datetime.combine(week_start, datetime.min.time())

    tallied_role = user.role if sees_as_role(user) else None  # asked once: it is a query
    figures = _open_counts(visible, today, tallied_role)

    weeks = {week_start + timedelta(weeks=n): 0 for n in range(WEEKS)}
    for day, count in _reports_per_day(visible, since):
        weeks_in = (day - week_start).days // 7
        if 0 <= weeks_in < WEEKS:
            weeks[week_start + timedelta(weeks=weeks_in)] += count
    parts = _parts_reported(visible, since, tallied_role)

    return Dashboard(
        open_by_state_office={(state, office): n for state, office, n, _overdue, _awaiting in figures},
        weekly=sorted(weeks.items()),
        to_triage_hours=_durations(visible, Case.triaged_at, since, unit_hours=1),
        to_close_days=_durations(visible, Case.closed_at, since, unit_hours=24),
        overdue=sum(row[3] for row in figures),
        awaiting_acknowledgement=sum(row[4] for row in figures),
        platforms=_most_first(parts["platform"]),
        behaviours=_most_first(parts["behaviour"]),
        computed_at=now,
    )


def dashboard_for(user: User, today: date) -> Dashboard:
    """The dashboard for `user`, from the short cache when fresh (DASHBOARD_CACHE_SECONDS).

    The figures depend only on which cases the user sees: users who see exactly what their role sees
    (access.sees_as_role) share one entry per role, anyone else has their own. An entry past
    REFRESH_AFTER of its life is still served while one background thread computes its successor, so a
    busy dashboard is never computed while someone waits (nor stale by more than its lifetime); only a
    dashboard nobody opened for a while is computed on the spot.
    """
    ttl = current_app.config.get("DASHBOARD_CACHE_SECONDS", 0 if current_app.testing else DEFAULT_CACHE_SECONDS)
    if ttl <= 0:
        return compute_dashboard(user, today)
    key = ("role", user.role, today) if sees_as_role(user) else ("user", user.id, user.role, user.active, today)
    now = clock()
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] > now:
            expires, figures = hit
            if now >= expires - ttl * (1 - REFRESH_AFTER) and key not in _refreshing:
                _refreshing.add(key)
                app = current_app._get_current_object()
                in_background(lambda: _refresh(app, user.id, key, today, ttl))
            return figures
    figures = compute_dashboard(user, today)
    _keep(key, figures, now + ttl)
    return figures


def in_background(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="dashboard-refresh", daemon=True).start()


def _refresh(app: Flask, user_id: int, key: tuple, today: date, ttl: float) -> None:
    """Compute the entry `key` anew (in a background thread, with its own session) and keep it."""
    started = clock()
    try:
        with app.app_context(), transactions.read_only():
            user = db.session.get(User, user_id)
            if user is not None:
                _keep(key, compute_dashboard(user, today), started + ttl)
    except Exception:  # the entry then expires, and the next request computes it
        log.exception("The dashboard could not be refreshed in the background")
    finally:
        with _lock:
            _refreshing.discard(key)


def _keep(key: tuple, figures: Dashboard, expires: float) -> None:
    now = clock()
    with _lock:
        for stale in [k for k, (until, _) in _cache.items() if until <= now]:
            del _cache[stale]
        _cache[key] = (expires, figures)
