"""Access matrix: sign-in, sign-out, password change, account administration."""

from tests.access.matrix import ROLES, Route, everyone, only

ALL_STAFF = ROLES

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
]
