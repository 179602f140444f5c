"""The navigation each role sees: only what it may use, and only pages that exist."""

from flask import current_app
from flask_login import current_user

ALL_STAFF = ("admin", "intake", "investigator", "conduct_officer", "police_liaison", "auditor")
CASE_WORKERS = ("intake", "investigator", "conduct_officer", "police_liaison")

# (endpoint, label, roles)
NAV = (
    ("reports.home", "Home", ALL_STAFF),
    ("cases.queue", "Cases", CASE_WORKERS + ("auditor",)),
    ("reports.case_list", "All cases", ALL_STAFF),
    ("intake.staff_report", "Record a report", ("intake", "investigator")),
    ("reports.dashboard", "Dashboard", ALL_STAFF),
    ("auditing.trail", "Audit trail", ("auditor",)),
    ("auth.users", "Accounts", ("admin",)),
    ("cases.access_lookup", "Case access", ("admin", "intake")),
    ("cases.workflows", "Workflows", ("admin",)),
)


def nav_items() -> list[tuple[str, str]]:
    """The (endpoint, label) pairs for the signed-in user's navigation."""
    if not current_user.is_authenticated:
        return []
    views = current_app.view_functions
    return [(endpoint, label) for endpoint, label, roles in NAV if current_user.role in roles and endpoint in views]
