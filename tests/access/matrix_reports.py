"""Access matrix: the home page, the filtered case list, the dashboard and the exports."""

from tests.access.matrix import ROLES, Route, only

ROUTES = [
    Route("reports.home", "GET", lambda ctx: "/", only(*ROLES)),
    Route("reports.case_list", "GET", lambda ctx: "/cases/all", only(*ROLES)),
    # The filter form, posted (with search words): to the list's address.
    Route(
        "reports.filter_case_list",
        "POST",
        lambda ctx: "/cases/all",
        only(*ROLES),
        data=lambda ctx: {"q": "threat", "state": "open"},
    ),
    Route("reports.dashboard", "GET", lambda ctx: "/dashboard", only(*ROLES)),
    # Exports: Conduct and UMPD export nothing; administrators get references, states and offices only.
    Route(
        "reports.export_case_list",
        "GET",
        lambda ctx: "/cases/all.csv",
        only("admin", "intake", "investigator", "auditor"),
    ),
    Route(
        "reports.annual_statistics",
        "GET",
        lambda ctx: "/reports/annual.csv?year=2026",
        only("admin", "intake", "auditor"),
    ),
]
