"""The navigation each role sees: only what it may use, and only pages that exist."""

from functools import lru_cache

from flask import Flask, current_app, request, url_for
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


def nav_items() -> tuple[tuple[str, str, str], ...]:
    """The (endpoint, label, url) of each entry of the signed-in user's navigation."""
    if not current_user.is_authenticated:
        return ()
    return _nav_for(current_app._get_current_object(), current_user.role, request.script_root)


@lru_cache(maxsize=64)
def _nav_for(app: Flask, role: str, script_root: str) -> tuple[tuple[str, str, str], ...]:
    # The same for every page a role sees: built once, not a URL per entry on every page.
    entries = [(endpoint, label) for endpoint, label, roles in NAV if role in roles and endpoint in app.view_functions]
    return tuple((endpoint, label, url_for(endpoint)) for endpoint, label in entries)
