"""Recusal and restriction: who manages them, what users then see, and what the audit trail keeps."""

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden, NotFound

from casework import access
from casework.models import AuditEntry, Case, CaseAccessGrant, Recusal
from casework.reports.service import count_cases_by_state
from tests import factories


def _entries(db, action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_recused_investigator_loses_the_case_everywhere(db, make_user):
    intake, investigator = make_user("intake"), make_user("investigator")
    case = factories.CaseFactory(office="eoa", status="triaged")
    before = sum(count_cases_by_state(investigator).values())
    access.recuse(intake, case, investigator, "Teaches the respondent's seminar.")
    assert not access.can_see(investigator, case)
    assert case.id not in db.session.scalars(access.visible_cases(investigator).with_only_columns(Case.id)).all()
    assert sum(count_cases_by_state(investigator).values()) == before - 1
    with pytest.raises(NotFound):
        access.load_case(investigator, case.reference)


def test_recusal_is_audited_with_ids_only_and_keeps_the_reason_out_of_the_trail(db, make_user):
    intake, investigator = make_user("intake"), make_user("investigator")
    case = factories.CaseFactory()
    recusal = access.recuse(intake, case, investigator, "Shares a flat with the respondent.")
    [entry] = _entries(db, "case.recusal_added")
    assert entry.actor_id == intake.id and entry.case_id == case.id and entry.object_id == str(recusal.id)
    assert entry.details == {"user_id": investigator.id}
    assert db.session.get(Recusal, recusal.id).reason == "Shares a flat with the respondent."


def test_lifting_a_recusal_gives_the_case_back(db, make_user):
    intake, investigator = make_user("intake"), make_user("investigator")
    case = factories.CaseFactory(office="eoa")
    access.recuse(intake, case, investigator, "Conflict.")
    access.lift_recusal(intake, case, investigator)
    assert access.can_see(investigator, case)
    assert [e.details for e in _entries(db, "case.recusal_lifted")] == [{"user_id": investigator.id}]


def test_recusing_twice_or_recusing_the_assignee_is_refused_with_a_reason(db, make_user):
    intake, investigator = make_user("intake"), make_user("investigator")
    case = factories.CaseFactory(assignee_id=investigator.id)
    with pytest.raises(access.AccessChangeError, match="assigned to this case"):
        access.recuse(intake, case, investigator, "Conflict.")
    other = make_user("investigator")
    access.recuse(intake, case, other, "Conflict.")
    with pytest.raises(access.AccessChangeError, match="already recused"):
        access.recuse(intake, case, other, "Conflict.")
    with pytest.raises(access.AccessChangeError, match="Say why"):
        access.recuse(intake, case, make_user("investigator"), "  ")


def test_a_restricted_case_is_seen_by_its_assignee_named_users_and_auditors_only(db, make_user):
    intake, assignee, named, outsider = make_user("intake"), *(make_user("investigator") for _ in range(3))
    auditor, colleague = make_user("auditor"), make_user("intake")
    case = factories.CaseFactory(office="eoa", assignee_id=assignee.id)
    access.set_restricted(intake, case, True)
    access.grant_access(intake, case, named)
    assert access.can_see(assignee, case) and access.can_see(named, case) and access.can_see(auditor, case)
    assert not access.can_see(outsider, case)
    assert not access.can_see(colleague, case)  # intake too, unless assigned or named
    access.revoke_access(intake, case, named)
    assert not access.can_see(named, case)
    actions = [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.case_id == case.id))]
    # The coordinator who restricted it is named on it, so they keep managing it.
    assert actions == ["case.restriction_changed", "case.access_granted", "case.access_granted", "case.access_revoked"]
    assert access.can_see(intake, case)


def test_only_case_workers_can_be_named_and_never_while_recused(db, make_user):
    intake = make_user("intake")
    case = factories.CaseFactory()
    with pytest.raises(access.AccessChangeError, match="Only staff who work cases"):
        access.grant_access(intake, case, make_user("admin"))
    recused = make_user("investigator")
    access.recuse(intake, case, recused, "Conflict.")
    with pytest.raises(access.AccessChangeError, match="recused"):
        access.grant_access(intake, case, recused)


def test_investigators_and_auditors_cannot_manage_access(db, make_user):
    case = factories.CaseFactory(office="eoa")
    for role in ("investigator", "auditor"):
        with pytest.raises(Forbidden):
            access.set_restricted(make_user(role), case, True)
    with pytest.raises(NotFound):  # a case they cannot see is not there at all
        access.set_restricted(make_user("conduct_officer"), case, True)
    assert db.session.scalar(select(func.count()).select_from(CaseAccessGrant)) == 0


def test_conduct_never_sees_the_reporter_without_consent(db, make_user):
    case = factories.CaseFactory(anonymous=False, reporter_name="Sam Reporter", consent_share_identity=False)
    conduct, intake = make_user("conduct_officer"), make_user("intake")
    assert not access.may_see_reporter_identity(conduct, case)
    assert access.may_see_reporter_identity(intake, case)
    case.consent_share_identity = True
    assert access.may_see_reporter_identity(conduct, case)


def test_a_deactivated_account_sees_no_case(db, make_user):
    intake = make_user("intake", active=False)
    factories.CaseFactory()
    assert db.session.scalars(access.visible_cases(intake)).all() == []


# --- The page --------------------------------------------------------------------------------------------


def test_intake_recuses_a_colleague_from_the_access_page(client, login_as, make_user, db):
    intake = login_as("intake")
    colleague = make_user("investigator", display_name="Ivy Investigator")
    case = factories.CaseFactory()
    page = client.get(f"/cases/{case.reference}/access").get_data(as_text=True)
    assert "Ivy Investigator" in page and "Nobody is recused" in page
    response = client.post(
        f"/cases/{case.reference}/access/recusals", data={"user_id": colleague.id, "reason": "Conflict of interest."}
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ivy Investigator is recused from" in page and "Conflict of interest." in page
    assert _entries(db, "case.recusal_added")[0].actor_id == intake.id


def test_a_recusal_without_a_reason_is_refused_next_to_the_field(client, login_as, make_user):
    login_as("intake")
    colleague = make_user("investigator")
    case = factories.CaseFactory()
    response = client.post(f"/cases/{case.reference}/access/recusals", data={"user_id": colleague.id, "reason": ""})
    assert response.status_code == 400
    assert "Say why this person is recused" in response.get_data(as_text=True)


def test_administrator_reaches_a_case_by_reference_and_sees_no_content(client, login_as, make_user, db):
    login_as("admin")
    case = factories.CaseFactory(narrative="A very private account of what happened.")
    factories.RecusalFactory(case_id=case.id, user_id=make_user("investigator").id, reason="Private reason text")
    response = client.get("/cases/access", query_string={"reference": case.reference.lower()})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{case.reference}/access")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert case.reference in page
    assert "A very private account" not in page and "Private reason text" not in page
    assert _entries(db, "case.access_lookup")[0].details == {"found": True}


def test_an_unknown_reference_gets_the_same_answer_as_one_the_user_may_not_see(client, login_as, make_user):
    admin = login_as("admin")
    hidden = factories.CaseFactory()
    factories.RecusalFactory(case_id=hidden.id, user_id=admin.id)
    unknown = client.get("/cases/access", query_string={"reference": "OH-2026-99999"}).get_data(as_text=True)
    recused = client.get("/cases/access", query_string={"reference": hidden.reference}).get_data(as_text=True)
    assert "No case has that reference, or you may not see it." in unknown
    assert "No case has that reference, or you may not see it." in recused


def test_the_accounts_page_offers_the_case_access_lookup(client, login_as):
    login_as("admin")
    assert 'action="/cases/access"' in client.get("/admin/users").get_data(as_text=True)


def test_intake_restricting_a_case_then_no_longer_sees_it_unless_assigned(client, login_as, db):
    intake = login_as("intake")
    case = factories.CaseFactory(assignee_id=intake.id)
    response = client.post(f"/cases/{case.reference}/access/restricted", data={"restricted": "1"})
    assert response.status_code == 302
    db.session.refresh(case)
    assert case.restricted
    assert client.get(f"/cases/{case.reference}/access").status_code == 200  # still the assignee


def test_an_impossible_user_number_is_a_404_not_an_error(client, login_as):
    login_as("intake")
    case = factories.CaseFactory()
    response = client.post(f"/cases/{case.reference}/access/recusals/{10**30}/lift")
    assert response.status_code == 404


def test_a_reference_with_a_nul_byte_is_simply_not_found(client, login_as):
    login_as("intake")
    assert client.get("/cases/OH-2026%00/access").status_code == 404
    assert client.get("/cases/access", query_string={"reference": "OH\x00"}).status_code == 200
