"""The home page fitted to each role; dashboards and exports."""

from flask import Blueprint, render_template
from flask_login import current_user

from casework.auth.decorators import role_required
from casework.navigation import ALL_STAFF
from casework.reports import service

bp = Blueprint("reports", __name__)


@bp.get("/")
@role_required(*ALL_STAFF)
def home():
    counts = service.count_cases_by_state(current_user)
    accounts = service.count_active_accounts() if current_user.role == "admin" else None
    return render_template("reports/home.html", counts=counts, total=sum(counts.values()), accounts=accounts)
