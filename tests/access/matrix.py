"""The access matrix: every route × every role × every case situation, and the outcome the policy demands.

How to add rows for your routes
-------------------------------
Create `tests/access/matrix_<area>.py` with a module-level `ROUTES = [...]` of `Route` entries, one per
(endpoint, method) of every rule your blueprint adds (HEAD and OPTIONS aside). `test_access_matrix.py` fails
when a rule of the app has no row in any matrix file, or a row names an endpoint that does not exist.

    from tests.access.matrix import ALLOWED, FORBIDDEN, Route, only

    ROUTES = [
        # A page naming a case: 404 wherever the role may not see the case (checked for you, from SEES below),
        # otherwise the outcome in `allowed` for the role (ALLOWED, or FORBIDDEN when the role may not use it).
        Route("cases.show", "GET", lambda ctx: f"/cases/{ctx.case.reference}", only(*CASE_WORKERS, "auditor"),
              names_case=True),
        # A POST: give data that succeeds, so ALLOWED means the action really went through (2xx or 3xx).
        Route("cases.add_note", "POST", lambda ctx: f"/cases/{ctx.case.reference}/notes", only("intake", ...),
              names_case=True, data=lambda ctx: {"body": "Called back", "visibility": "office"}),
        # A page without a case: the outcome per role; anonymous visitors are sent to sign in unless you say so.
        Route("reports.dashboard", "GET", lambda ctx: "/dashboard", only(*ALL_STAFF)),
    ]

`ctx` (a `Ctx`) holds the signed-in `user` (None when anonymous), the `case` of the situation (routes with
`names_case`), `other_user` (an active investigator, e.g. someone to recuse or an account to edit), `extra`,
a dict your `setup(ctx)` callable may fill with objects the URL needs (evidence, notes…), built with
`tests.factories`, and `client`, the test browser. `setup` runs once the user is signed in, so it may also use
the browser for what a page needs beyond a staff session (a reporter's portal session, a half-finished
sign-in). `setup` may also move the case to the state your route needs, as long as the case stays in its
situation (e.g. an investigator's visible case must stay an EOA case).
`overrides={(role, situation): outcome}` states the rare exception to the rule.

The situations, built for each role by `make_case`:
- visible:     a case in the role's scope (EOA case for intake/investigator/admin/auditor; a case referred to
               Conduct for conduct officers, to UMPD for police liaisons);
- not_visible: a case outside the role's scope (another office's case, never referred to theirs). Intake,
               administrators and auditors have no such case: for them it is visible like any other;
- recused:     the visible case, with the user recused from it;
- restricted:  the visible case, restricted, assigned to someone else, the user not named on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient

from casework.models import Case, User
from tests import factories

ALLOWED, FORBIDDEN, NOT_FOUND, LOGIN = "allowed", "403", "404", "login"
ROLES = ("admin", "intake", "investigator", "conduct_officer", "police_liaison", "auditor")
ANONYMOUS = "anonymous"
SITUATIONS = ("visible", "not_visible", "recused", "restricted")
NO_CASE = "no_case"

# The policy (DESIGN rule 1, issue #3), restated independently of casework/access.py: may the role see the case?
SEES: dict[str, dict[str, bool]] = {
    "admin": {"visible": True, "not_visible": True, "recused": False, "restricted": True},  # references only
    "intake": {"visible": True, "not_visible": True, "recused": False, "restricted": False},
    "investigator": {"visible": True, "not_visible": False, "recused": False, "restricted": False},
    "conduct_officer": {"visible": True, "not_visible": False, "recused": False, "restricted": False},
    "police_liaison": {"visible": True, "not_visible": False, "recused": False, "restricted": False},
    "auditor": {"visible": True, "not_visible": True, "recused": False, "restricted": True},
}


@dataclass
class Ctx:
    user: User | None
    case: Case | None
    other_user: User
    extra: dict[str, Any] = field(default_factory=dict)
    client: FlaskClient | None = None


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    url: Callable[[Ctx], str]
    allowed: Mapping[str, str]  # outcome per role (and "anonymous") when the case, if any, is visible
    names_case: bool = False
    data: Callable[[Ctx], dict] | None = None
    setup: Callable[[Ctx], None] | None = None
    overrides: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def situations(self, role: str) -> tuple[str, ...]:
        if not self.names_case:
            return (NO_CASE,)
        return ("visible",) if role == ANONYMOUS else SITUATIONS

    def expected(self, role: str, situation: str) -> str:
        if (role, situation) in self.overrides:
            return self.overrides[(role, situation)]
        if role == ANONYMOUS:
            return self.allowed.get(ANONYMOUS, LOGIN)
        if self.names_case and not SEES[role][situation]:
            return NOT_FOUND  # never a 403: nothing may hint that the case exists
        return self.allowed[role]


def only(*roles: str, anonymous: str = LOGIN) -> dict[str, str]:
    """ALLOWED for these roles, FORBIDDEN for the other roles, `anonymous` (sent to sign in) for visitors."""
    unknown = set(roles) - set(ROLES)
    assert not unknown, f"unknown roles {unknown}"
    return {**{role: ALLOWED if role in roles else FORBIDDEN for role in ROLES}, ANONYMOUS: anonymous}


def everyone() -> dict[str, str]:
    """A public page: every role and anonymous visitors."""
    return only(*ROLES, anonymous=ALLOWED)


def _scoped_case(role: str, in_scope: bool) -> Case:
    """A case inside (or outside) the role's scope."""
    office = {
        ("conduct_officer", True): "conduct",
        ("police_liaison", True): "umpd",
        ("investigator", False): "conduct",
        ("conduct_officer", False): "eoa",
        ("police_liaison", False): "conduct",
    }.get((role, in_scope), "eoa" if in_scope else "umpd")
    status = "triaged" if office == "eoa" and in_scope else f"referred_{office}"
    case = factories.CaseFactory(office=office, status=status)
    if status.startswith("referred_"):
        factories.ReferralFactory(case_id=case.id, office=office)
    return case


def make_case(role: str, situation: str, user: User | None) -> Case:
    """The case of `situation` for a user of `role`."""
    role = role if role in ROLES else "intake"
    case = _scoped_case(role, in_scope=situation != "not_visible")
    if situation == "recused":
        factories.RecusalFactory(case_id=case.id, user_id=user.id)
    elif situation == "restricted":
        case.restricted = True
        case.assignee_id = factories.UserFactory(role="investigator").id
    factories.db.session.flush()
    return case


__all__ = [
    "ALLOWED",
    "ANONYMOUS",
    "FORBIDDEN",
    "LOGIN",
    "NOT_FOUND",
    "NO_CASE",
    "ROLES",
    "SEES",
    "SITUATIONS",
    "Ctx",
    "Route",
    "everyone",
    "make_case",
    "only",
]
