"""The case page and the forms on it: what staff see, what they may do, and what a conflict looks like."""

import re

import pytest
from sqlalchemy import event, select

from casework.cases import service
from casework.extensions import db as _db
from casework.models import Message
from tests.cases.helpers import audit_actions, audit_entries, events
from tests.factories import (
    CaseBehaviourFactory,
    CaseEventFactory,
    CasePlatformFactory,
    EvidenceFactory,
    MessageFactory,
    PartyFactory,
)

TRIAGE_FORM = {"triage-risk_level": "medium", "triage-jurisdiction_note": "Student respondent, campus impact."}


def url(case, suffix=""):
    return f"/cases/{case.reference}{suffix}"


def version_in(page: str, trigger: str) -> str:
    form = page[page.index(f"/actions/{trigger}") :]
    return re.search(r'name="version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="version"', form).group(1)


def test_case_page_shows_the_case_its_parties_evidence_and_timeline(client, login_as, make_case, db):
    case = make_case("received", narrative="They made a fake account with my photos.", urgent=True)
    PartyFactory(case=case, handle="@fake_profile_01", platform="instagram", name="Jordan Example")
    EvidenceFactory(case_id=case.id, kind="file", file_name="screenshot.png", sha256="ab" * 32, storage_key="k1")
    EvidenceFactory(case_id=case.id, kind="link", url="https://www.instagram.com/fake_profile_01/")
    login_as("intake")

    response = client.get(url(case))

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in (case.reference, "Received", "Equal Opportunity", "Unassigned", "Anonymous", "urgent"):
        assert text in page
    assert "They made a fake account with my photos." in page
    assert "@fake_profile_01" in page and "Jordan Example" in page
    assert "ab" * 32 in page and "screenshot.png" in page and "https://www.instagram.com/fake_profile_01/" in page
    assert audit_actions(db, case) == ["case.view"]


def test_user_written_text_is_escaped(client, login_as, make_case):
    case = make_case("received", narrative="<script>alert(1)</script>")
    login_as("intake")
    page = client.get(url(case)).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_reporter_identity_is_shown_to_eoa_and_hidden_from_conduct_without_consent(client, login_as, make_case, app):
    case = make_case(
        "referred_conduct", anonymous=False, reporter_name="Robin Reporter", reporter_email="robin@students.example.edu"
    )
    login_as("intake")
    assert "Robin Reporter" in client.get(url(case)).get_data(as_text=True)
    client.post("/logout")
    login_as("conduct_officer")
    page = client.get(url(case)).get_data(as_text=True)
    assert "Robin Reporter" not in page and "did not consent" in page


def test_intake_sees_the_triage_form_with_its_fields_and_the_case_version(client, login_as, make_case):
    case = make_case("received")
    login_as("intake")
    page = client.get(url(case)).get_data(as_text=True)

    assert f'action="/cases/{case.reference}/actions/triage"' in page
    assert '<select id="triage-risk_level"' in page and 'name="triage-jurisdiction_note"' in page
    assert version_in(page, "triage") == str(case.version)
    assert "/actions/escalate_umpd" not in page  # not urgent: the guard hides it
    assert "/actions/close" not in page  # not possible from Received


def test_close_form_has_a_select_and_a_textarea(client, login_as, make_case):
    case = make_case("triaged")
    login_as("investigator")
    page = client.get(url(case)).get_data(as_text=True)
    assert '<select id="close-disposition"' in page and '<textarea id="close-closing_summary"' in page


def test_auditor_sees_the_case_without_any_action_form(client, login_as, make_case):
    case = make_case("received")
    login_as("auditor")
    page = client.get(url(case)).get_data(as_text=True)
    assert case.reference in page
    assert "/actions/" not in page and "/assign" not in page and "/notes" not in page and "/messages" not in page


def test_triage_through_the_page_changes_the_case_and_shows_on_the_timeline(client, login_as, make_case, db):
    case = make_case("received")
    user = login_as("intake")

    response = client.post(url(case, "/actions/triage"), data={**TRIAGE_FORM, "triage-version": case.version})

    assert response.status_code == 302
    page = client.get(url(case)).get_data(as_text=True)
    assert "Triaged" in page and "Student respondent, campus impact." in page and user.display_name in page
    db.session.refresh(case)
    assert case.status == "triaged" and case.risk_level == "medium"
    assert audit_actions(db, case) == ["case.transition", "case.view"]


def test_a_transition_with_missing_fields_keeps_what_was_typed_and_changes_nothing(client, login_as, make_case, db):
    case = make_case("received")
    login_as("intake")
    version = case.version

    response = client.post(
        url(case, "/actions/triage"),
        data={"triage-risk_level": "", "triage-jurisdiction_note": "Kept text 123", "triage-version": version},
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This field is required." in page and "Kept text 123" in page
    db.session.refresh(case)
    assert case.status == "received" and case.version == version and events(db, case) == []
    assert "case.transition" not in audit_actions(db, case)


def test_a_stale_form_gets_409_naming_who_changed_the_case_and_keeping_the_text(client, login_as, make_case, make_user):
    from casework.cases import service

    case = make_case("received")
    stale = case.version
    other = make_user("investigator", display_name="Ines Investigator")
    service.transition(case, "triage", other, {"risk_level": "low", "jurisdiction_note": "Done."}, stale)
    login_as("intake")

    response = client.post(
        url(case, "/actions/triage"),
        data={"triage-risk_level": "high", "triage-jurisdiction_note": "My careful note", "triage-version": stale},
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Ines Investigator" in page and "My careful note" in page and "triaged" in page


def test_a_stale_assignment_gets_409_and_can_be_sent_again_on_the_fresh_version(
    client, login_as, make_case, make_user, db
):
    from casework.cases import service

    case = make_case("triaged")
    stale = case.version
    first, second = make_user("investigator"), make_user("investigator")
    service.assign(case, first, make_user("intake", display_name="Imani Intake"), stale)
    login_as("intake")

    response = client.post(url(case, "/assign"), data={"assignee": second.id, "version": stale})

    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "Imani Intake" in page
    fresh = re.search(r'name="version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="version"', page)
    assert fresh and int(fresh.group(1) or fresh.group(2)) == case.version
    retry = client.post(url(case, "/assign"), data={"assignee": second.id, "version": case.version})
    assert retry.status_code == 302
    db.session.refresh(case)
    assert case.assignee_id == second.id


def test_assignment_through_the_page_lists_only_members_of_the_owning_office(client, login_as, make_case, make_user):
    case = make_case("referred_conduct")
    member = make_user("conduct_officer", display_name="Cora Conduct")
    outsider = make_user("investigator", display_name="Ivan Investigator")
    make_user("conduct_officer", display_name="Dana Departed", active=False)
    login_as("intake")
    page = client.get(url(case)).get_data(as_text=True)
    assert "Cora Conduct" in page and "Ivan Investigator" not in page and "Dana Departed" not in page

    refused = client.post(url(case, "/assign"), data={"assignee": outsider.id, "version": case.version})
    assert refused.status_code == 400 and "office that holds the case" in refused.get_data(as_text=True)
    done = client.post(url(case, "/assign"), data={"assignee": member.id, "version": case.version})
    assert done.status_code == 302


def test_notes_internal_to_an_office_are_hidden_from_other_offices(client, login_as, make_case, app, db):
    case = make_case("referred_conduct")
    login_as("conduct_officer")
    client.post(url(case, "/notes"), data={"note-body": "Internal: prior file exists.", "note-visibility": "office"})
    client.post(url(case, "/notes"), data={"note-body": "Shared: hearing next week.", "note-visibility": "shared"})
    page = client.get(url(case)).get_data(as_text=True)
    assert "Internal: prior file exists." in page and "Shared: hearing next week." in page
    client.post("/logout")

    login_as("intake")
    page = client.get(url(case)).get_data(as_text=True)
    assert "Shared: hearing next week." in page and "Internal: prior file exists." not in page


def test_an_empty_note_is_refused_next_to_its_field(client, login_as, make_case):
    case = make_case("triaged")
    login_as("investigator")
    response = client.post(url(case, "/notes"), data={"note-body": "", "note-visibility": "office"})
    assert response.status_code == 400 and "Write the note first." in response.get_data(as_text=True)


def test_staff_reply_appears_in_the_thread_and_reporter_messages_are_marked_read(client, login_as, make_case, db):
    case = make_case("triaged")
    incoming = MessageFactory(case_id=case.id, body="More screenshots attached.")
    login_as("auditor")
    client.get(url(case))
    db.session.refresh(incoming)
    assert incoming.read_at is None  # an auditor's look does not count as the office reading it
    client.post("/logout")

    login_as("investigator")
    page = client.get(url(case)).get_data(as_text=True)
    assert "More screenshots attached." in page
    db.session.refresh(incoming)
    assert incoming.read_at is not None

    response = client.post(url(case, "/messages"), data={"message-body": "Thank you, we received them."})
    assert response.status_code == 302
    reply = db.session.scalar(select(Message).where(Message.case_id == case.id, Message.direction == "to_reporter"))
    assert reply.body == "Thank you, we received them."
    [entry] = audit_entries(db, case, "message.to_reporter")
    assert "Thank you" not in str(entry.details)


def test_overdue_case_is_marked_on_its_page(client, login_as, make_case):
    from datetime import timedelta

    from casework.clock import local_today

    case = make_case("received", due_on=local_today() - timedelta(days=3), deadline_label="triage")
    login_as("intake")
    page = client.get(url(case)).get_data(as_text=True)
    assert "overdue by 3 days" in page


def test_related_cases_are_linked_when_visible_and_counted_otherwise(client, login_as, make_case):
    here = make_case("referred_conduct")
    PartyFactory(case=here, handle="@same_account", platform="x")
    other = make_case("referred_conduct")
    PartyFactory(case=other, handle="same.account", platform="x")
    hidden = make_case("received")
    PartyFactory(case=hidden, handle="@same_account", platform="x")
    login_as("conduct_officer")
    page = client.get(url(here)).get_data(as_text=True)
    assert "appears in 2 other cases" in page and f'href="/cases/{other.reference}"' in page
    assert hidden.reference not in page and "1 you cannot open" in page


@pytest.mark.parametrize(
    ("role", "trigger", "status", "message"),
    [
        ("conduct_officer", "no_such_action", 404, "Page not found"),
        ("conduct_officer", "triage", 400, "Triage is not possible while the case is referred to student conduct"),
        ("intake", "acknowledge", 403, "Your role may not use “Acknowledge referral”"),
    ],
)
def test_an_action_the_user_may_not_take_now_is_refused_and_changes_nothing(
    client, login_as, make_case, db, role, trigger, status, message
):
    case = make_case("referred_conduct")
    version = case.version
    login_as(role)
    response = client.post(url(case, f"/actions/{trigger}"), data={"version": version, f"{trigger}-version": version})
    assert response.status_code == status and message in response.get_data(as_text=True)
    db.session.refresh(case)
    assert case.version == version and "case.transition" not in audit_actions(db, case)


@pytest.mark.parametrize("assignee", ["abc", "-1", "9" * 30, "1.5", " "])
def test_nonsense_assignee_values_get_a_clear_answer_not_a_server_error(client, login_as, make_case, assignee):
    case = make_case("triaged")
    login_as("intake")
    response = client.post(url(case, "/assign"), data={"assignee": assignee, "version": case.version})
    assert response.status_code == 400 and "office that holds the case" in response.get_data(as_text=True)


@pytest.mark.parametrize("after", ["2026-01-01T00:00:00_" + "9" * 30, "x_1", "_", "2026-13-01T00:00:00_4"])
def test_nonsense_queue_cursors_show_the_first_page(client, login_as, make_case, after):
    case = make_case("received")
    login_as("intake")
    response = client.get("/cases/", query_string={"queue": "new", "after": after})
    assert response.status_code == 200 and case.reference in response.get_data(as_text=True)


def test_an_overlong_note_is_refused_and_kept(client, login_as, make_case):
    case = make_case("triaged")
    login_as("intake")
    text = "x" * 20_001
    response = client.post(url(case, "/notes"), data={"note-body": text, "note-visibility": "office"})
    assert response.status_code == 400 and text in response.get_data(as_text=True)


def test_a_form_without_a_version_is_treated_as_stale_not_as_a_change(client, login_as, make_case, db):
    case = make_case("received")
    login_as("intake")
    response = client.post(url(case, "/actions/triage"), data=TRIAGE_FORM)
    assert response.status_code == 409
    db.session.refresh(case)
    assert case.status == "received"


def test_case_page_forms_carry_a_csrf_token_that_is_checked(app, client, login_as, make_case):
    case = make_case("received")
    login_as("intake")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = client.get(url(case)).get_data(as_text=True)
        forms = re.findall(r'<form method="post".*?</form>', page, re.S)
        tokens = [re.findall(r'name="csrf_token" value="([^"]+)"', form) for form in forms]
        assert len(forms) >= 5  # sign-out, the actions, assignment, note, reply
        assert all(len(found) == 1 for found in tokens), tokens
        [token] = {found[0] for found in tokens}
        data = {**TRIAGE_FORM, "triage-version": case.version}
        assert client.post(url(case, "/actions/triage"), data=data).status_code == 400
        assert client.post(url(case, "/actions/triage"), data={**data, "csrf_token": token}).status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_case_walks_through_every_transition_from_the_page_with_timeline_and_audit(
    client, login_as, make_case, make_user, db
):
    from casework.models import CaseEvent

    case = make_case("received", student_respondent=True)
    staff = {role: make_user(role) for role in ("intake", "investigator", "conduct_officer", "police_liaison")}
    steps = [
        ("intake", "triage", TRIAGE_FORM, "triaged"),
        ("intake", "refer_conduct", {"refer_conduct-reason": "Student respondent."}, "referred_conduct"),
        ("conduct_officer", "acknowledge", {}, "referred_conduct"),
        ("conduct_officer", "return_to_triage", {"return_to_triage-reason": "Not ours."}, "triaged"),
        ("intake", "refer_eoa", {"refer_eoa-reason": "EOA policy."}, "referred_eoa"),
        ("investigator", "acknowledge", {}, "referred_eoa"),
        ("investigator", "close", {"close-disposition": "resolved", "close-closing_summary": "Done."}, "closed"),
        ("investigator", "reopen", {"reopen-reason": "New posts."}, "triaged"),
        ("intake", "refer_umpd", {"refer_umpd-reason": "Threats."}, "referred_umpd"),
        ("police_liaison", "acknowledge", {}, "referred_umpd"),
        (
            "police_liaison",
            "close",
            {"close-disposition": "referred_outside", "close-closing_summary": "Police."},
            "closed",
        ),
    ]
    current = None
    for number, (role, trigger, data, state) in enumerate(steps, start=1):
        if current != role:
            client.post("/logout")
            login_as(staff[role])
            current = role
        page = client.get(url(case)).get_data(as_text=True)
        assert f"/actions/{trigger}" in page, (trigger, role)
        response = client.post(
            url(case, f"/actions/{trigger}"), data={**data, f"{trigger}-version": version_in(page, trigger)}
        )
        assert response.status_code == 302, (trigger, response.get_data(as_text=True)[:2000])
        db.session.refresh(case)
        assert case.status == state, trigger
        assert len(events(db, case)) == number
        assert audit_entries(db, case, "case.transition")[-1].details["trigger"] == trigger
    assert [e.trigger for e in events(db, case)] == [step[1] for step in steps]
    assert db.session.query(CaseEvent).filter_by(case_id=case.id, kind="transition").count() == len(steps)
    assert (case.disposition, case.office) == ("referred_outside", "umpd")


def test_an_urgent_report_is_escalated_from_the_page(client, login_as, make_case, db):
    case = make_case("received", in_danger=True)
    login_as("investigator")
    page = client.get(url(case)).get_data(as_text=True)
    response = client.post(
        url(case, "/actions/escalate_umpd"),
        data={"escalate_umpd-reason": "Threat tonight.", "escalate_umpd-version": version_in(page, "escalate_umpd")},
    )
    assert response.status_code == 302
    db.session.refresh(case)
    assert (case.status, case.office) == ("referred_umpd", "umpd")
    # Now UMPD's case: the EOA investigator no longer sees it.
    assert client.get(url(case)).status_code == 404


def test_an_account_named_in_many_cases_links_only_the_newest_related_cases(client, login_as, make_case):
    from casework.cases.service import RELATED_SHOWN

    here = make_case("received")
    PartyFactory(case=here, handle="@many_posts", platform="x")
    others = [make_case("received") for _ in range(RELATED_SHOWN + 2)]
    for other in others:
        PartyFactory(case=other, handle="many_posts", platform="x")
    login_as("intake")
    page = client.get(url(here)).get_data(as_text=True)
    assert f"appears in {RELATED_SHOWN + 2} other cases" in page
    assert sum(f'href="/cases/{other.reference}"' in page for other in others) == RELATED_SHOWN
    assert "and 2 older" in page


def _statements(client, path: str) -> list[str]:
    """The statements of a view of the case page (the second: the first marks the reporter's messages read)."""
    assert client.get(path).status_code == 200
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            statements.append(statement)

    engine = _db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return statements


def _case_with(make_case, make_user, db, n: int):
    """A referred case with n respondents (each on its own account, named in n other cases), notes, messages,
    evidence, platforms, behaviours and assignment events."""
    staff = [make_user("investigator") for _ in range(n)]
    case = make_case("referred_eoa", assignee_id=staff[0].id)
    for i in range(n):
        PartyFactory(case=case, handle=f"@account_{n}_{i}", platform=("x", "tiktok", None)[i % 3])
        PartyFactory(case=case, kind="witness", handle=f"@witness_{n}_{i}")
        for _ in range(n):
            PartyFactory(case=make_case("received"), handle=f"@account_{n}_{i}", platform=("x", "tiktok", None)[i % 3])
        service.add_note(case, staff[i], f"Note {i}", ("office", "shared")[i % 2])
        service.post_staff_message(case, staff[i], f"Message {i}")
        MessageFactory(case_id=case.id)
        EvidenceFactory(case_id=case.id)
        CaseEventFactory(case_id=case.id, kind="assignment", data={"assignee_id": staff[i].id})
    pairs = [("x", "impersonation"), ("tiktok", "threats"), ("reddit", "doxxing")]
    for platform, behaviour in pairs[:n]:
        CasePlatformFactory(case_id=case.id, platform=platform)
        CaseBehaviourFactory(case_id=case.id, behaviour=behaviour)
    db.session.refresh(case)
    return case


@pytest.mark.parametrize("role", ["intake", "investigator", "auditor"])
def test_case_page_statements_do_not_grow_with_parties_notes_events_or_related_cases(
    client, login_as, make_case, make_user, db, role
):
    login_as(role)
    quiet, busy = _case_with(make_case, make_user, db, 1), _case_with(make_case, make_user, db, 6)
    few, many = _statements(client, url(quiet)), _statements(client, url(busy))
    assert len(many) == len(few)
    # Signed-in user; the case with its assignee and parties; messages; events; notes; assignable users;
    # platforms and behaviours; evidence; related cases; referrals; the view's audit entry (2).
    assert len(few) <= 12
