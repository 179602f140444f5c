"""Access matrix: the home page each role sees."""

from tests.access.matrix import ROLES, Route, only

ROUTES = [
    Route("reports.home", "GET", lambda ctx: "/", only(*ROLES)),
]
