"""Access matrix: public intake (the report form, the receipt, the follow-up portal) and staff-recorded reports.

The public pages are for everyone: anonymous visitors and every staff role alike (a staff member may report
harassment too). Recording a report taken by phone or in person is EOA intake work: intake and investigators.

The follow-up portal is not opened by a staff session but by a reference and a key. `_open_portal` signs the
test browser into the portal (as the reporter would, after any staff sign-in, which starts a fresh session) so
that the portal rows show the page itself, not the redirect to the portal's sign-in that a browser without a
portal session gets.
"""

from casework.intake import keys
from tests import factories
from tests.access.matrix import Route, everyone, only
from tests.intake.conftest import report_form

RECORDERS = only("intake", "investigator")


def _reporter_case(ctx):
    """A case the reporter can open with its reference and key."""
    key = keys.generate_key()
    case = factories.CaseFactory()
    factories.ReporterKeyFactory(case_id=case.id, key_hash=keys.hash_key(key))
    ctx.extra.update(reference=case.reference, key=key)


def _open_portal(ctx):
    _reporter_case(ctx)
    response = ctx.client.post("/follow-up", data={"reference": ctx.extra["reference"], "key": ctx.extra["key"]})
    assert response.status_code == 302 and response.location.endswith("/follow-up/report")


ROUTES = [
    Route("intake.report", "GET", lambda ctx: "/report", everyone()),
    Route("intake.report", "POST", lambda ctx: "/report", everyone(), data=lambda ctx: report_form()),
    Route("intake.received", "GET", lambda ctx: "/report/received", everyone()),
    Route("intake.follow_up", "GET", lambda ctx: "/follow-up", everyone()),
    Route(
        "intake.follow_up",
        "POST",
        lambda ctx: "/follow-up",
        everyone(),
        setup=_reporter_case,
        data=lambda ctx: {"reference": ctx.extra["reference"], "key": ctx.extra["key"]},
    ),
    Route("intake.follow_up_case", "GET", lambda ctx: "/follow-up/report", everyone(), setup=_open_portal),
    Route(
        "intake.follow_up_case",
        "POST",
        lambda ctx: "/follow-up/report",
        everyone(),
        setup=_open_portal,
        data=lambda ctx: {"message": "They made another account last night."},
    ),
    Route("intake.follow_up_leave", "POST", lambda ctx: "/follow-up/leave", everyone(), setup=_open_portal),
    Route("intake.staff_report", "GET", lambda ctx: "/staff/report", RECORDERS),
    Route(
        "intake.staff_report",
        "POST",
        lambda ctx: "/staff/report",
        RECORDERS,
        data=lambda ctx: report_form(channel="phone"),
    ),
    Route("intake.staff_received", "GET", lambda ctx: "/staff/report/recorded", RECORDERS),
]
