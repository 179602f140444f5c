"""CSV exports: a filtered case list, and the anonymous annual statistics.

Who may export what (decided here, once):
- the case list: intake, investigator, auditor and admin. The narrative column is included only for
  roles that read case content in bulk (intake, investigator, auditor); administrators get
  references, states, offices and dates only. Conduct and UMPD work their referred cases on screen
  and do not take bulk copies.
- the annual statistics: admin, auditor and intake. Counts only: no reference, name or free text.
Both are audited (export.cases with the filter names and the row count; export.annual with the year).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from sqlalchemy import Integer, cast, extract, func, select

from casework import audit
from casework.access import visibility_clause
from casework.extensions import db
from casework.models import Case, CaseBehaviour, CasePlatform, User
from casework.reports import listing
from casework.vocabulary import AFFILIATIONS, BEHAVIOURS, DISPOSITIONS, OFFICES, PLATFORMS

EXPORT_MAX_ROWS = 50_000
NARRATIVE_ROLES = ("intake", "investigator", "auditor")
ANNUAL_ROLES = ("admin", "auditor", "intake")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _write(rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()


def export_cases(user: User, filters: listing.CaseFilters, *, today: date) -> tuple[str, int]:
    """The visible cases matching `filters` as CSV text (at most EXPORT_MAX_ROWS), and the row count; audited."""
    with_narrative = user.role in NARRATIVE_ROLES
    stmt = listing.filtered_cases(user, filters, today)
    if with_narrative:
        stmt = stmt.add_columns(Case.narrative)
    stmt = listing.ordered(stmt, filters.sort, None).limit(EXPORT_MAX_ROWS)
    records = db.session.execute(stmt, listing.words_of(user, filters)).all()
    if user.role == "admin":
        header = ["reference", "state", "office", "reported_on"]
        lines = [[r.reference, r.status, r.office, r.created_at.date().isoformat()] for r in records]
    else:
        platforms = listing.platforms_of([r.id for r in records])
        header = ["reference", "state", "office", "reported_on", "due_on", "overdue", "urgent", "risk_level"]
        header += ["disposition", "assigned_to", "platforms"] + (["narrative"] if with_narrative else [])
        lines = []
        for r in records:
            overdue = r.due_on is not None and r.due_on < today and r.status != "closed"
            line = [r.reference, r.status, r.office, r.created_at.date().isoformat(), r.due_on or "",
                    "yes" if overdue else "no", "yes" if r.urgent else "no", r.risk_level, r.disposition,
                    r.assignee_name, " ".join(platforms.get(r.id, ()))]  # fmt: skip
            if with_narrative:
                line.append(r.narrative)
            lines.append([_cell(v) for v in line])
    audit.record(
        "export.cases",
        user,
        details={
            "filters": filters.used(),
            "has_text": filters.has_text,
            "rows": len(records),
            "narrative": with_narrative,
        },
    )
    return _write([header, *lines]), len(records)


def annual_statistics(user: User, year: int) -> str:
    """Anonymous counts of the cases reported in `year`, for a Title IX / Clery-style annual report; audited.

    One row per (measure, category): month, office, behaviour, platform, reporter affiliation and
    disposition. A case with two platforms counts once under each; every other measure sums to the total.
    """
    start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    scope = (visibility_clause(user), Case.created_at >= start, Case.created_at < end)

    def grouped(column, *joins):
        query = select(column, func.count(func.distinct(Case.id))).select_from(Case)
        for target, on in joins:
            query = query.join(target, on)
        return dict(db.session.execute(query.where(*scope).group_by(column)).all())

    total = db.session.scalar(select(func.count()).select_from(Case).where(*scope))
    months = grouped(cast(extract("month", Case.created_at), Integer))
    affiliation = func.coalesce(Case.reporter_affiliation, "anonymous_or_not_given")
    disposition = func.coalesce(Case.disposition, "open")
    rows = [["measure", "category", "cases"], ["year", str(year), total]]
    rows += [["month", f"{year}-{m:02d}", months.get(m, 0)] for m in range(1, 13)]
    sections = (
        ("office", grouped(Case.office), OFFICES),
        ("behaviour", grouped(CaseBehaviour.behaviour, (CaseBehaviour, CaseBehaviour.case_id == Case.id)), BEHAVIOURS),
        ("platform", grouped(CasePlatform.platform, (CasePlatform, CasePlatform.case_id == Case.id)), PLATFORMS),
        ("reporter_affiliation", grouped(affiliation), {**AFFILIATIONS, "anonymous_or_not_given": ""}),
        ("disposition", grouped(disposition), {**DISPOSITIONS, "open": ""}),
    )
    for measure, counts, vocabulary in sections:
        rows += [[measure, key, counts.get(key, 0)] for key in vocabulary]
    audit.record("export.annual", user, details={"year": year})
    return _write(rows)
