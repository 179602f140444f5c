"""Every route × every role × every case situation gives exactly what the access policy says.

The rows live in `tests/access/matrix_<area>.py` (see `tests/access/matrix.py` for how to add yours).
A route of the app without a row fails here, so no page can be added without deciding who may open it.
"""

import importlib
from pathlib import Path

import pytest

from tests import factories
from tests.access.matrix import ALLOWED, ANONYMOUS, FORBIDDEN, LOGIN, NOT_FOUND, ROLES, Ctx, Route, make_case

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _load_routes() -> list[Route]:
    routes = []
    for path in sorted(Path(__file__).parent.glob("matrix_*.py")):
        module = importlib.import_module(f"tests.access.{path.stem}")
        routes.extend(module.ROUTES)
    return routes


ROUTES = _load_routes()


def _rows() -> set[tuple[str, str]]:
    return {(route.endpoint, route.method) for route in ROUTES}


def test_every_route_of_the_app_has_a_row_in_the_access_matrix(app):
    missing = sorted(
        f"{rule.endpoint} {method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - IGNORED_METHODS
        if (rule.endpoint, method) not in _rows()
    )
    assert missing == [], "add these routes to a tests/access/matrix_<area>.py file: " + ", ".join(missing)


def test_every_row_of_the_access_matrix_names_a_route_of_the_app(app):
    existing = {
        (rule.endpoint, method) for rule in app.url_map.iter_rules() for method in rule.methods - IGNORED_METHODS
    }
    assert sorted(_rows() - existing) == []


def test_each_route_has_one_row_per_method():
    keys = [(route.endpoint, route.method) for route in ROUTES]
    assert len(keys) == len(set(keys))


def _outcome(response, role: str) -> str:
    location = response.headers.get("Location", "")
    if response.status_code == 404:
        return NOT_FOUND
    if response.status_code == 403:
        return FORBIDDEN
    if role == ANONYMOUS and response.status_code in (301, 302, 303) and location.startswith("/login"):
        return LOGIN
    if response.status_code < 400:
        return ALLOWED
    return f"status {response.status_code}"


def _params():
    for route in ROUTES:
        for role in (*ROLES, ANONYMOUS):
            for situation in route.situations(role):
                yield pytest.param(route, role, situation, id=f"{route.endpoint}-{route.method}-{role}-{situation}")


@pytest.mark.parametrize(("route", "role", "situation"), list(_params()))
def test_route_gives_the_outcome_the_policy_demands(client, db, login_as, route, role, situation):
    user = factories.UserFactory(role=role) if role != ANONYMOUS else None
    ctx = Ctx(user=user, case=None, other_user=factories.UserFactory(role="investigator"), client=client)
    if route.names_case:
        ctx.case = make_case(role, situation, user)
    if user is not None:
        login_as(user)  # the conftest helper: it completes whatever sign-in steps the role needs
    if route.setup:
        route.setup(ctx)  # after signing in: signing in starts a fresh session, which would drop what setup opened
    response = client.open(route.url(ctx), method=route.method, data=route.data(ctx) if route.data else None)
    response.close()  # a download streams its file: close it, as a browser would
    expected = route.expected(role, situation)
    assert _outcome(response, role) == expected, (
        f"{route.method} {route.url(ctx)} as {role} ({situation}): expected {expected}, got {response.status_code}"
    )
