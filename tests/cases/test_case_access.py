"""Access to the case-work routes, beyond what the access matrix (tests/access/matrix_cases.py) checks:
an invisible case's pages say nothing about it, and a signed-out POST changes nothing.
"""

import pytest

from tests.factories import RecusalFactory

ROLES = ("admin", "intake", "investigator", "conduct_officer", "police_liaison", "auditor")

# A case each role can see, and the transition it may fire there.
OWN = {
    "admin": ("received", None),
    "auditor": ("received", None),
    "intake": ("received", "triage"),
    "investigator": ("received", "triage"),
    "conduct_officer": ("referred_conduct", "acknowledge"),
    "police_liaison": ("referred_umpd", "acknowledge"),
}
TRIAGE = {"triage-risk_level": "low", "triage-jurisdiction_note": "Within EOA remit."}


@pytest.fixture
def other_case(make_case):
    """A case the user may not see: restricted, another office's, or one they are recused from."""

    def make(role, user):
        if role == "intake":
            return make_case("received", restricted=True)
        if role == "investigator":
            return make_case("referred_conduct")
        if role in ("conduct_officer", "police_liaison"):
            return make_case("received")
        case = make_case("received")
        RecusalFactory(case_id=case.id, user_id=user.id)
        return case

    return make


def post_for(role, case, user):
    """Every POST route with data that would succeed for a user allowed to use it."""
    trigger = OWN[role][1] or "triage"
    data = {f"{trigger}-version": case.version, **(TRIAGE if trigger == "triage" else {})}
    return {
        f"/cases/{case.reference}/actions/{trigger}": data,
        f"/cases/{case.reference}/assign": {"assignee": user.id, "version": case.version},
        f"/cases/{case.reference}/notes": {"note-body": "Called the reporter back.", "note-visibility": "office"},
        f"/cases/{case.reference}/messages": {"message-body": "We have your report."},
    }


@pytest.mark.parametrize("role", ROLES)
def test_case_page_of_an_invisible_case_is_not_found(client, login_as, other_case, role):
    user = login_as(role)
    case = other_case(role, user)
    response = client.get(f"/cases/{case.reference}")
    assert response.status_code == 404 and case.reference not in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_changes_to_an_invisible_case_are_not_found_for_every_role(client, login_as, other_case, role):
    """Not 403 for the roles that change nothing: a recused auditor or administrator learns nothing either."""
    user = login_as(role)
    case = other_case(role, user)
    for path, data in post_for(role, case, user).items():
        response = client.post(path, data=data)
        assert response.status_code == 404, (path, response.status_code)
        assert case.reference not in response.get_data(as_text=True)


def test_signed_out_posts_change_nothing(client, make_case):
    case = make_case("received")
    response = client.post(f"/cases/{case.reference}/actions/triage", data={**TRIAGE, "triage-version": 1})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert case.status == "received"
