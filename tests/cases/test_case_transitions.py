"""The one door for changing state: cases.service.transition, end to end with timeline and audit."""

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, update

from casework import access
from casework.cases import service
from casework.cases.service import ActionForbidden, StaleCase, TransitionRefused
from casework.models import Case, Referral
from tests.cases.helpers import audit_actions, audit_entries, events
from tests.factories import PartyFactory
from workflows import add_business_days, load_directory

TRIAGE = {"risk_level": "high", "jurisdiction_note": "Respondent is an enrolled student; on-campus impact."}
CLOSE = {"disposition": "resolved", "closing_summary": "The profile was removed; the reporter is satisfied."}


def fire(case, trigger, actor, data=None):
    return service.transition(case, trigger, actor, data or {}, case.version)


def test_triage_sets_risk_and_deadline_and_writes_timeline_and_audit(db, make_case, make_user):
    case = make_case("received")
    intake = make_user("intake")
    before = case.version

    event = fire(case, "triage", intake, TRIAGE)

    assert case.status == "triaged" and case.risk_level == "high"
    assert case.due_on == add_business_days(service.local_today(), 5) and case.deadline_label == "refer or close"
    assert case.version == before + 1
    assert (event.kind, event.trigger, event.from_state, event.to_state) == (
        "transition",
        "triage",
        "received",
        "triaged",
    )
    assert event.actor_id == intake.id and event.reason == TRIAGE["jurisdiction_note"]
    assert event.data["risk_level"] == "high" and "jurisdiction_note" not in event.data
    [entry] = audit_entries(db, case, "case.transition")
    assert entry.actor_id == intake.id
    assert entry.details == {
        "trigger": "triage",
        "from": "received",
        "to": "triaged",
        "fields": ["risk_level", "jurisdiction_note"],
    }


def test_a_case_keeps_when_it_was_first_triaged_for_the_dashboard(db, make_case, make_user):
    case = make_case("received")
    intake = make_user("intake")
    assert case.triaged_at is None

    fire(case, "triage", intake, TRIAGE)
    first = case.triaged_at
    assert first == case.events[-1].created_at

    fire(case, "refer_eoa", intake, {"reason": "Within the office's remit."})
    fire(case, "return_to_triage", intake, {"reason": "Needs another look."})
    assert case.status == "triaged" and case.triaged_at == first


def test_escalating_an_urgent_report_sends_it_to_umpd_with_a_referral(db, make_case, make_user):
    case = make_case("received", urgent=True)
    liaison = make_user("police_liaison")
    assert not access.can_see(liaison, case)

    fire(case, "escalate_umpd", make_user("investigator"), {"reason": "Threat of violence tonight."})

    assert (case.status, case.office, case.deadline_label) == ("referred_umpd", "umpd", "acknowledge")
    [referral] = case.referrals
    assert referral.office == "umpd" and referral.reason == "Threat of violence tonight."
    assert access.can_see(liaison, case)
    db.session.expire_all()  # what the row says, from now on, whatever becomes of the case
    assert (case.referred_umpd, case.referred_conduct) == (True, False)
    assert audit_entries(db, case, "case.transition")[0].details["office"] == "umpd"


def test_escalating_a_report_that_is_not_urgent_is_refused_and_changes_nothing(db, make_case, make_user):
    case = make_case("received")
    version = case.version

    with pytest.raises(TransitionRefused, match="Only an urgent case"):
        fire(case, "escalate_umpd", make_user("intake"), {"reason": "Looks serious."})

    db.session.expire_all()
    assert case.status == "received" and case.version == version and case.referrals == []
    assert events(db, case) == [] and audit_actions(db, case) == []


@pytest.mark.parametrize(
    ("trigger", "office", "state"),
    [
        ("refer_eoa", "eoa", "referred_eoa"),
        ("refer_conduct", "conduct", "referred_conduct"),
        ("refer_umpd", "umpd", "referred_umpd"),
    ],
)
def test_referring_a_triaged_case_moves_it_to_the_office_with_a_referral(
    db, make_case, make_user, trigger, office, state
):
    investigator = make_user("investigator")
    case = make_case("triaged", student_respondent=True, assignee_id=investigator.id)
    version = case.version

    event = fire(case, trigger, make_user("intake"), {"reason": "Within this office's remit."})

    assert case.version == version + 1  # one change, one version

    assert (case.status, case.office) == (state, office)
    assert case.due_on == add_business_days(service.local_today(), 3) and case.deadline_label == "acknowledge"
    assert [(r.office, r.reason) for r in case.referrals] == [(office, "Within this office's remit.")]
    # An EOA investigator does not keep a case that another office now holds.
    assert case.assignee_id == (investigator.id if office == "eoa" else None)
    assert event.reason == "Within this office's remit."
    assert audit_entries(db, case, "case.transition")[0].details["to"] == state


def test_referral_to_conduct_needs_a_student_respondent(db, make_case, make_user):
    case = make_case("triaged")
    PartyFactory(case=case, affiliation="staff")
    db.session.refresh(case)

    with pytest.raises(TransitionRefused, match="respondent who is a student"):
        fire(case, "refer_conduct", make_user("intake"), {"reason": "Student matter."})
    assert case.status == "triaged"


def test_the_receiving_office_acknowledges_once_and_starts_the_close_clock(db, make_case, make_user):
    case = make_case("referred_conduct")
    officer = make_user("conduct_officer")

    fire(case, "acknowledge", officer)

    assert case.status == "referred_conduct" and case.acknowledged_at is not None
    assert case.due_on == add_business_days(service.local_today(), 60) and case.deadline_label == "close"
    assert case.referrals[-1].acknowledged_at is not None and case.referrals[-1].acknowledged_by_id == officer.id
    with pytest.raises(TransitionRefused, match="already been acknowledged"):
        fire(case, "acknowledge", officer)
    assert audit_actions(db, case) == ["case.transition"]


def test_only_the_receiving_office_may_acknowledge(db, make_case, make_user):
    case = make_case("referred_umpd")
    with pytest.raises(ActionForbidden):
        fire(case, "acknowledge", make_user("intake"))
    assert case.acknowledged_at is None


def test_return_to_triage_closes_the_referral_and_clears_the_acknowledgement(db, make_case, make_user):
    case = make_case("referred_conduct")
    officer = make_user("conduct_officer")
    fire(case, "acknowledge", officer)

    fire(case, "return_to_triage", officer, {"reason": "Not a student matter after all."})

    assert case.status == "triaged" and case.acknowledged_at is None
    assert case.referrals[-1].returned_at is not None
    assert case.deadline_label == "refer or close"


def test_a_returned_case_goes_back_to_eoa_and_stays_visible_to_the_office_that_returned_it(db, make_case, make_user):
    case = make_case("referred_conduct")
    officer = make_user("conduct_officer")

    fire(case, "return_to_triage", officer, {"reason": "Not a student matter after all."})

    assert case.office == "eoa"
    assert [r.office for r in case.referrals] == ["conduct"]
    assert access.can_see(officer, case)


def test_reopening_a_case_closed_by_conduct_returns_it_to_eoa_triage(db, make_case, make_user):
    case = make_case("closed", office="conduct")
    fire(case, "reopen", make_user("intake"), {"reason": "The reporter sent new messages."})
    assert case.status == "triaged" and case.office == "eoa"


def test_closing_records_disposition_and_reopening_clears_it(db, make_case, make_user):
    case = make_case("triaged")
    investigator = make_user("investigator")

    fire(case, "close", investigator, CLOSE)
    assert (case.status, case.disposition, case.closing_summary) == ("closed", "resolved", CLOSE["closing_summary"])
    assert case.closed_at is not None and case.due_on is None and case.deadline_label is None

    fire(case, "reopen", investigator, {"reason": "New messages from the same account."})
    db.session.flush()
    assert (case.status, case.disposition, case.closing_summary, case.closed_at) == ("triaged", None, None, None)
    assert [e.trigger for e in events(db, case)] == ["close", "reopen"]
    assert [e.details["trigger"] for e in audit_entries(db, case, "case.transition")] == ["close", "reopen"]


def test_a_transition_missing_required_fields_is_refused_with_field_errors_and_changes_nothing(
    db, make_case, make_user
):
    case = make_case("triaged")
    version = case.version

    with pytest.raises(TransitionRefused) as refused:
        fire(case, "close", make_user("intake"), {"disposition": "not-a-disposition", "closing_summary": "  "})

    assert set(refused.value.field_errors) == {"disposition", "closing_summary"}
    db.session.expire_all()
    assert (case.status, case.version, case.closed_at) == ("triaged", version, None)
    assert events(db, case) == [] and audit_actions(db, case) == []


@pytest.mark.parametrize("role", ["auditor", "admin", "conduct_officer"])
def test_roles_that_may_not_fire_a_transition_are_forbidden(db, make_case, make_user, role):
    case = make_case("received")
    with pytest.raises(ActionForbidden):
        fire(case, "triage", make_user(role), TRIAGE)
    assert case.status == "received" and audit_actions(db, case) == []


def test_a_stale_expected_version_is_refused_and_changes_nothing(db, make_case, make_user):
    case = make_case("received")
    stale = case.version
    fire(case, "triage", make_user("intake"), TRIAGE)

    with pytest.raises(StaleCase):
        service.transition(case, "close", make_user("investigator"), CLOSE, stale)

    assert case.status == "triaged" and len(events(db, case)) == 1


def test_a_change_made_behind_the_sessions_back_is_caught_as_stale(db, make_case, make_user):
    case = make_case("received")
    seen = case.version
    # Another writer bumped the row; this session still holds the old version in memory.
    db.session.execute(update(Case).where(Case.id == case.id).values(version=Case.version + 1))

    with pytest.raises(StaleCase):
        service.transition(case, "triage", make_user("intake"), TRIAGE, seen)
    db.session.rollback()


def test_cases_keep_the_workflow_version_they_were_opened_on(app, db, make_case, make_user, tmp_path, monkeypatch):
    source = Path(app.root_path).parent / "workflows"
    (tmp_path / "archive").mkdir()
    shutil.copy(source / "online_harassment.toml", tmp_path / "archive" / "online_harassment.v1.toml")
    text = (source / "online_harassment.toml").read_text()
    text = text.replace("version = 1", "version = 2", 1).replace("deadline = 5\n", "deadline = 7\n", 1)
    (tmp_path / "online_harassment.toml").write_text(text)
    monkeypatch.setitem(app.extensions, "workflows", load_directory(tmp_path))
    old, new = make_case("received"), make_case("received", workflow_version=2)
    intake = make_user("intake")

    fire(old, "triage", intake, TRIAGE)
    fire(new, "triage", intake, TRIAGE)

    today = service.local_today()
    assert old.due_on == add_business_days(today, 5) and new.due_on == add_business_days(today, 7)
    assert (old.workflow_version, new.workflow_version) == (1, 2)


def test_assigning_to_a_member_of_the_owning_office_is_audited_and_on_the_timeline(db, make_case, make_user):
    case = make_case("triaged")
    investigator, intake = make_user("investigator"), make_user("intake")

    event = service.assign(case, investigator, intake, case.version)

    assert case.assignee_id == investigator.id
    assert event.kind == "assignment" and event.data["assignee_id"] == investigator.id
    [entry] = audit_entries(db, case, "case.assign")
    assert entry.details == {"assignee_id": investigator.id, "previous_assignee_id": None}


def test_a_case_cannot_be_assigned_outside_its_owning_office(db, make_case, make_user):
    case = make_case("referred_conduct")
    with pytest.raises(service.CaseActionRefused, match="office that holds the case"):
        service.assign(case, make_user("investigator"), make_user("intake"), case.version)
    assert case.assignee_id is None and audit_entries(db, case, "case.assign") == []


def test_a_recused_member_cannot_be_assigned(db, make_case, make_user):
    from tests.factories import RecusalFactory

    case = make_case("triaged")
    investigator = make_user("investigator")
    RecusalFactory(case_id=case.id, user_id=investigator.id)
    with pytest.raises(service.CaseActionRefused):
        service.assign(case, investigator, make_user("intake"), case.version)


def test_assigning_with_a_stale_version_is_refused(db, make_case, make_user):
    case = make_case("triaged")
    with pytest.raises(StaleCase):
        service.assign(case, make_user("investigator"), make_user("intake"), case.version - 1)


def test_internal_notes_stay_in_the_authors_office_and_shared_notes_reach_every_office(db, make_case, make_user):
    case = make_case("referred_conduct")
    officer, intake = make_user("conduct_officer"), make_user("intake")
    internal = service.add_note(case, officer, "Respondent has a prior conduct file.", "office")
    shared = service.add_note(case, officer, "Hearing scheduled for next week.", "shared")

    assert service.visible_notes(case, officer) == [internal, shared]
    assert service.visible_notes(case, intake) == [shared]
    assert [e.note.id for e in service.timeline(case, intake) if e.note] == [shared.id]
    entries = audit_entries(db, case, "note.add")
    assert [e.details for e in entries] == [
        {"visibility": "office", "office": "conduct"},
        {"visibility": "shared", "office": "conduct"},
    ]


def test_an_empty_note_is_refused(db, make_case, make_user):
    with pytest.raises(service.CaseActionRefused):
        service.add_note(make_case("triaged"), make_user("intake"), "   ", "office")


def test_a_staff_reply_goes_to_the_reporter_thread_and_the_audit_holds_no_text(db, make_case, make_user):
    case = make_case("triaged")
    message = service.post_staff_message(case, make_user("intake"), "Thank you. Could you send the link?")

    assert message.direction == "to_reporter" and message.case_id == case.id
    [entry] = audit_entries(db, case, "message.to_reporter")
    assert entry.object_id == str(message.id) and entry.details == {}


def test_related_cases_count_other_cases_naming_the_account_but_not_recused_ones(db, make_case, make_user):
    from tests.factories import RecusalFactory

    conduct = make_user("conduct_officer")
    here = make_case("referred_conduct")
    PartyFactory(case=here, handle="@Fake_Profile.01", platform="instagram")
    visible = make_case("referred_conduct")
    PartyFactory(case=visible, handle="fakeprofileol", platform="instagram")  # same account, other spelling
    invisible = make_case("triaged")
    PartyFactory(case=invisible, handle="@fake_profile_01", platform="instagram")
    recused = make_case("referred_conduct")
    PartyFactory(case=recused, handle="@fake_profile_01", platform="instagram")
    RecusalFactory(case_id=recused.id, user_id=conduct.id)
    elsewhere = make_case("triaged")
    PartyFactory(case=elsewhere, handle="@fake_profile_01", platform="tiktok")  # another platform
    db.session.refresh(here)

    [related] = service.related_cases(here, conduct)

    assert related.count == 2
    assert [other.reference for other in related.visible] == [visible.reference] and related.hidden_count == 1


def test_related_cases_are_counted_per_account_when_a_case_names_several(db, make_case, make_user):
    intake = make_user("intake")
    here = make_case("triaged")
    PartyFactory(case=here, handle="@first_account", platform="x")
    PartyFactory(case=here, handle="second_account", platform=None)
    PartyFactory(case=here, handle="@nobody_else", platform="x")
    older, newer = make_case("triaged"), make_case("received")
    for other in (older, newer):
        PartyFactory(case=other, handle="first_account", platform="x")
    both = make_case("triaged")
    PartyFactory(case=both, handle="@second_account", platform=None)
    db.session.refresh(here)

    related = service.related_cases(here, intake)

    assert [(r.party.handle, r.count, r.hidden_count) for r in related] == [
        ("@first_account", 2, 0),
        ("second_account", 1, 0),
    ]
    assert [other.reference for other in related[0].visible] == [newer.reference, older.reference]
    assert [other.reference for other in related[1].visible] == [both.reference]


def test_referral_rows_are_written_for_every_referral(db, make_case, make_user):
    case = make_case("triaged")
    intake = make_user("intake")
    fire(case, "refer_eoa", intake, {"reason": "EOA matter."})
    fire(case, "return_to_triage", intake, {"reason": "Needs another look."})
    fire(case, "refer_umpd", intake, {"reason": "Threats."})
    rows = db.session.execute(
        select(Referral.office, Referral.returned_at.is_not(None))
        .where(Referral.case_id == case.id)
        .order_by(Referral.id)
    )
    assert [tuple(r) for r in rows] == [("eoa", True), ("umpd", False)]
