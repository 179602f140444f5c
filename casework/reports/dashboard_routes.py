"""The dashboard and the annual statistics export."""

from functools import lru_cache

from flask import Response, render_template, request
from flask_login import current_user
from markupsafe import Markup

from casework.auth.decorators import reauth_required, role_required
from casework.clock import local_today
from casework.errors import render_error
from casework.extensions import db
from casework.flows import state_labels
from casework.navigation import ALL_STAFF
from casework.reports import dashboard as figures
from casework.reports import exports
from casework.reports.routes import bp
from casework.reports.service import loaded_objects_kept_after_commit


@bp.get("/dashboard")
@role_required(*ALL_STAFF)
def dashboard():
    today = local_today()
    d = figures.dashboard_for(current_user, today)
    with loaded_objects_kept_after_commit():
        db.session.commit()  # nothing to write: ends the transaction before rendering
    return render_template("reports/dashboard.html", d=d, figures=_drawn(d), today=today)


@lru_cache(maxsize=64)
def _drawn(d: figures.Dashboard) -> Markup:
    """The charts and tables of a dashboard, drawn once for each (cached) Dashboard and served to all its users."""
    drawn = render_template("reports/_dashboard_figures.html", d=d, states=state_labels())
    return Markup(drawn)  # noqa: S704 - a template's output, escaped by Jinja


@bp.get("/reports/annual.csv")
@role_required(*exports.ANNUAL_ROLES)
@reauth_required
def annual_statistics():
    year = request.args.get("year", "")
    if not (year.isdigit() and 2000 <= int(year) <= local_today().year):
        return render_error(400, f"Give the year as four digits, from 2000 to {local_today().year}.")
    body = exports.annual_statistics(current_user, int(year))
    db.session.commit()
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="casework-annual-{year}.csv"',
            "Cache-Control": "no-store",
        },
    )
