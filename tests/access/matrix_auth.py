"""Access matrix: sign-in, sign-out, password change, account administration, the second factor."""

import pyotp

from tests import factories
from tests.access.matrix import ROLES, Route, everyone, only
from tests.conftest import TEST_PASSWORD

ALL_STAFF = ROLES


def _half_signed_in(ctx):
    """A visitor who gave a right password and has the code still to give (nobody is signed in yet)."""
    if ctx.user is not None:
        return  # signed in already: the code page has nothing to finish and sends them on
    user = factories.enrol_second_factor(factories.UserFactory(role="investigator"))
    response = ctx.client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.location == "/login/code"
    ctx.extra["pending"] = user


def _without_second_factor(ctx):
    """The signed-in user has no second factor (yet): roles that require one are held on the set-up pages."""
    if ctx.user is None:
        return  # an anonymous visitor is sent to sign in before anything is looked at
    ctx.user.totp_secret = ctx.user.totp_enabled_at = ctx.user.totp_last_step = None
    factories.db.session.flush()


def _enrolling(ctx):
    """The user has started setting up a second factor: the app shows codes, the factor is not in force yet."""
    if ctx.user is None:
        return
    _without_second_factor(ctx)
    ctx.user.totp_secret = pyotp.random_base32()
    factories.db.session.flush()


def _enrolled(ctx):
    if ctx.user is None:
        return
    if not ctx.user.second_factor_enabled:
        factories.enrol_second_factor(ctx.user)


def _reauth_data(ctx) -> dict:
    if ctx.user is None:
        return {}
    data = {"reauth-password": TEST_PASSWORD}
    if ctx.user.second_factor_enabled:
        data["reauth-code"] = factories.totp_code(ctx.user)
    return data


ROUTES = [
    Route("auth.login", "GET", lambda ctx: "/login", everyone()),
    # An empty form comes back with its errors (200); a signed-in user is sent home (302).
    Route("auth.login", "POST", lambda ctx: "/login", everyone()),
    Route("auth.logout", "POST", lambda ctx: "/logout", only(*ALL_STAFF)),
    Route("auth.change_password", "GET", lambda ctx: "/account/password", only(*ALL_STAFF)),
    Route("auth.change_password", "POST", lambda ctx: "/account/password", only(*ALL_STAFF)),
    Route("auth.users", "GET", lambda ctx: "/admin/users", only("admin")),
    Route("auth.new_user", "GET", lambda ctx: "/admin/users/new", only("admin")),
    Route(
        "auth.new_user",
        "POST",
        lambda ctx: "/admin/users/new",
        only("admin"),
        data=lambda ctx: {"email": "new.person@casework.example.edu", "display_name": "New Person", "role": "auditor"},
    ),
    Route("auth.edit_user", "GET", lambda ctx: f"/admin/users/{ctx.other_user.id}", only("admin")),
    Route(
        "auth.edit_user",
        "POST",
        lambda ctx: f"/admin/users/{ctx.other_user.id}",
        only("admin"),
        data=lambda ctx: {"display_name": "Renamed", "role": "investigator", "office": "eoa", "active": "y"},
    ),
    Route("auth.reset_password", "POST", lambda ctx: f"/admin/users/{ctx.other_user.id}/reset-password", only("admin")),
    # The code page finishes a half-done sign-in; a signed-in user has nothing to finish and is sent on (302).
    Route("auth.login_code", "GET", lambda ctx: "/login/code", everyone(), setup=_half_signed_in),
    Route(
        "auth.login_code",
        "POST",
        lambda ctx: "/login/code",
        everyone(),
        setup=_half_signed_in,
        data=lambda ctx: {"code": factories.totp_code(ctx.extra["pending"])} if "pending" in ctx.extra else {},
    ),
    # Confirming one's identity again, before sensitive actions.
    Route("auth.reauth", "GET", lambda ctx: "/account/confirm", only(*ALL_STAFF)),
    Route("auth.reauth", "POST", lambda ctx: "/account/confirm", only(*ALL_STAFF), data=_reauth_data),
    # One's own second factor: every staff role. (Half-signed-in visitors who must set one up reach these
    # pages too; tests/test_two_factor.py covers that path.)
    Route("auth.two_factor", "GET", lambda ctx: "/account/two-factor", only(*ALL_STAFF)),
    Route(
        "auth.two_factor_start",
        "POST",
        lambda ctx: "/account/two-factor/start",
        only(*ALL_STAFF),
        setup=_without_second_factor,
    ),
    Route(
        "auth.two_factor_confirm",
        "POST",
        lambda ctx: "/account/two-factor/confirm",
        only(*ALL_STAFF),
        setup=_enrolling,
        data=lambda ctx: {"code": factories.totp_code(ctx.user)} if ctx.user else {},
    ),
    Route(
        "auth.regenerate_recovery_codes",
        "POST",
        lambda ctx: "/account/two-factor/recovery-codes",
        only(*ALL_STAFF),
        setup=_enrolled,
    ),
    # Every role may ask; for the roles that must use a second factor (administrators and auditors) the answer
    # is "your role requires it" beside the settings (302 back to them), not a refusal of the page.
    Route(
        "auth.disable_two_factor",
        "POST",
        lambda ctx: "/account/two-factor/disable",
        only(*ALL_STAFF),
        setup=_enrolled,
    ),
    Route(
        "auth.reset_two_factor",
        "POST",
        lambda ctx: f"/admin/users/{ctx.other_user.id}/reset-two-factor",
        only("admin"),
        setup=lambda ctx: factories.enrol_second_factor(ctx.other_user),
    ),
]
