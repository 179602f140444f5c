"""Jinja filters and globals shared by every page."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import Flask, current_app, url_for
from jinja2 import Environment, Template
from markupsafe import Markup

from casework import vocabulary
from casework.clock import local_time
from casework.flows import default_workflow, state_labels
from casework.models import utcnow
from workflows import WorkflowError


def format_datetime(value: datetime | None, zone: ZoneInfo | None = None) -> str:
    if value is None:
        return ""
    return local_time(value, zone).strftime("%Y-%m-%d %H:%M %Z")


def format_date(value: date | None) -> str:
    return value.isoformat() if value else ""


def state_label(state: str) -> str:
    """The label the default workflow gives a state."""
    try:
        return default_workflow().state_label(state)
    except WorkflowError:
        return state.replace("_", " ").capitalize()


def case_url_prefix() -> str | None:
    """The case page's URL without the reference (None where the app has no case page): a table of cases
    builds it once and appends each row's reference, instead of building fifty URLs."""
    if "cases.case_page" not in current_app.view_functions:
        return None
    return url_for("cases.case_page", reference="REFERENCE").removesuffix("REFERENCE")


class CaseLine(NamedTuple):
    """One case as a table of cases shows it, every value ready to print.

    Worked out in Python: the same lookups written in the template (a label per column, a filter per date) cost
    twice what the rest of the row does.
    """

    reference: str
    urgent: bool
    overdue: bool
    closed: bool
    state: str
    disposition: str
    office: str
    assignee: str
    risk: str
    platforms: str
    due: str
    deadline: str
    received: str


def case_line(row, today: date) -> CaseLine:
    """The display line of a row with a case's list columns: a queue row or a case-list row (in_danger,
    deadline_label, disposition and platforms are optional)."""
    closed = row.status == "closed"
    disposed = getattr(row, "disposition", None)
    return CaseLine(
        reference=row.reference,
        urgent=bool(row.urgent or getattr(row, "in_danger", False)),
        overdue=row.due_on is not None and not closed and row.due_on < today,
        closed=closed,
        state=state_labels().get(row.status) or state_label(row.status),
        disposition=vocabulary.DISPOSITIONS.get(disposed, disposed) if disposed else "",
        office=vocabulary.OFFICES.get(row.office, row.office),
        assignee=row.assignee_name or "—",
        risk=vocabulary.RISK_LEVELS.get(row.risk_level, "—") if row.risk_level else "—",
        platforms=", ".join(vocabulary.PLATFORMS.get(p, p) for p in getattr(row, "platforms", ())),
        due=row.due_on.isoformat() if row.due_on else "",
        deadline=getattr(row, "deadline_label", None) or "",
        received=format_datetime(row.created_at),
    )


# A few pages of every queue and list a worker's users open: about 6 MB of rows and their markup.
DRAWN_ROWS_KEPT = 4096


class RowDrawer:
    """Draws the rows of tables of cases with the row macros of ROW_MACROS, each distinct row once.

    A row's markup depends only on the row's columns, the day (overdue or not) and the case page's URL (the
    labels, vocabulary and time zone are the app's), so a row drawn before is drawn the same again: the queues
    and lists staff open all day show the same cases, and fifty rows worked out and drawn by their macro cost
    about a millisecond a page. The rows are tuples of plain values (queries.CaseListRow, listing.CaseRow). The
    drawn rows are kept per worker, the most recently used `size` of them; a row macro edited while the app
    runs with template reloading starts a fresh set.
    """

    ROW_MACROS = "cases/_case_rows.html"

    def __init__(self, env: Environment, size: int) -> None:
        self._env = env
        self._template: Template | None = None
        self._drawn = lru_cache(maxsize=size)(self._draw)

    def __call__(self, macro: str, rows: list[tuple], today: date, case_url: str | None) -> Markup:
        template = self._env.get_template(self.ROW_MACROS)
        if template is not self._template:
            self._template = template
            self._drawn.cache_clear()
        drawn = self._drawn
        return Markup("").join([drawn(macro, case_url, today, row) for row in rows])

    def rows_found_drawn(self) -> int:
        """How many rows were found already drawn since the worker started."""
        return self._drawn.cache_info().hits

    def _draw(self, macro: str, case_url: str | None, today: date, row: tuple) -> Markup:
        return getattr(self._template.module, macro)(case_line(row, today), case_url)


def compile_templates(app: Flask) -> list[str]:
    """Compile every page template into the environment's cache and return their names (the PDF templates, in
    templates/pdf/, have an environment of their own: casework.pdf). A worker that does it before serving spares
    the first visitor of each page its compilation (the case page's first view: ~120 -> ~40 ms)."""
    names = app.jinja_env.list_templates(filter_func=lambda name: not name.startswith("pdf/"))
    for name in names:
        app.jinja_env.get_template(name)
    return names


def register(app: Flask) -> None:
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_date, "date")
    app.add_template_filter(state_label, "state_label")
    app.add_template_global(utcnow, "now_utc")
    app.add_template_global(case_url_prefix, "case_url_prefix")
    app.add_template_global(RowDrawer(app.jinja_env, size=DRAWN_ROWS_KEPT), "case_rows")
