"""Access matrix: the "Case access" page (recusals, named users, restriction) — intake and administrators.

Every URL naming a case is a 404 for a user who may not see it, whatever the role; a role that sees the
case but may not manage access gets 403.
"""

from tests import factories
from tests.access.matrix import Route, only

MANAGERS = only("intake", "admin")


def _recuse_other(ctx):
    factories.RecusalFactory(case_id=ctx.case.id, user_id=ctx.other_user.id, reason="Shares a flat with a party.")


def _name_other(ctx):
    factories.CaseAccessGrantFactory(case_id=ctx.case.id, user_id=ctx.other_user.id)


def _page(ctx, suffix=""):
    return f"/cases/{ctx.case.reference}/access{suffix}"


ROUTES = [
    Route("cases.access_lookup", "GET", lambda ctx: "/cases/access", MANAGERS),
    Route("cases.access", "GET", _page, MANAGERS, names_case=True),
    Route(
        "cases.access_recuse",
        "POST",
        lambda ctx: _page(ctx, "/recusals"),
        MANAGERS,
        names_case=True,
        data=lambda ctx: {"user_id": str(ctx.other_user.id), "reason": "Is the respondent's flatmate."},
    ),
    Route(
        "cases.access_lift_recusal",
        "POST",
        lambda ctx: _page(ctx, f"/recusals/{ctx.other_user.id}/lift"),
        MANAGERS,
        names_case=True,
        setup=_recuse_other,
    ),
    Route(
        "cases.access_restrict",
        "POST",
        lambda ctx: _page(ctx, "/restricted"),
        MANAGERS,
        names_case=True,
        data=lambda ctx: {"restricted": "0" if ctx.case.restricted else "1"},
    ),
    Route(
        "cases.access_grant",
        "POST",
        lambda ctx: _page(ctx, "/grants"),
        MANAGERS,
        names_case=True,
        data=lambda ctx: {"user_id": str(ctx.other_user.id)},
    ),
    Route(
        "cases.access_revoke",
        "POST",
        lambda ctx: _page(ctx, f"/grants/{ctx.other_user.id}/revoke"),
        MANAGERS,
        names_case=True,
        setup=_name_other,
    ),
]
