"""The reporter's follow-up portal: reference and key open one case; wrong keys reveal nothing."""

import time

import pytest
from sqlalchemy import select

from casework.intake.followup_routes import PORTAL_SEEN, WRONG_KEY
from casework.models import AuditEntry, CaseEvent, Evidence, Message
from tests.factories import MessageFactory
from tests.intake.conftest import HTML, PNG, staging_token, upload


def sign_in(client, reference, key):
    return client.post("/follow-up", data={"reference": reference, "key": key})


def audit_actions(db, case_id):
    return [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.case_id == case_id))]


def test_the_key_shown_once_opens_the_report_with_a_plain_status(client, db, sent_report):
    case, reference, key = sent_report()
    response = sign_in(client, reference, key)
    assert response.status_code == 302 and response.location.endswith("/follow-up/report")
    assert key not in response.location and reference not in response.location
    page = client.get("/follow-up/report")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and reference in text and "Received" in text
    assert page.headers["Cache-Control"] == "no-store"
    assert case.narrative not in text  # the portal shows no case details
    assert "reporter.visit" in audit_actions(db, case.id)


def test_the_key_works_typed_in_lower_case_without_dashes(client, sent_report):
    _case, reference, key = sent_report()
    assert sign_in(client, reference.lower(), key.replace("-", " ").lower()).status_code == 302


@pytest.mark.parametrize(
    ("status", "words"),
    [("triaged", "Being reviewed"), ("referred_conduct", "Referred to another office"), ("received", "Received")],
)
def test_the_status_is_given_in_coarse_public_words(client, db, sent_report, status, words):
    case, reference, key = sent_report()
    case.status = status
    db.session.flush()
    sign_in(client, reference, key)
    text = client.get("/follow-up/report").get_data(as_text=True)
    assert f'id="public-status">{words}<' in text
    assert "Referred to Student Conduct" not in text


def test_a_wrong_key_and_an_unknown_reference_get_the_same_generic_answer(client, db, sent_report):
    case, reference, key = sent_report()
    wrong = sign_in(client, reference, "0000-0000-0000-0000")
    unknown = sign_in(client, "OH-2026-99999", key)
    malformed = sign_in(client, "nonsense", "'; DROP TABLE cases; --")
    for response in (wrong, unknown, malformed):
        assert response.status_code == 200
        assert WRONG_KEY in response.get_data(as_text=True)
    assert client.get("/follow-up/report").status_code == 302  # still not signed in
    assert "reporter.visit" not in audit_actions(db, case.id)


def test_wrong_key_page_does_not_echo_the_key(client, sent_report):
    _case, reference, _key = sent_report()
    text = sign_in(client, reference, "ABCD-EFGH-JKMN-PQRS").get_data(as_text=True)
    assert "ABCD-EFGH-JKMN-PQRS" not in text


def test_attempts_are_throttled_per_reference(client, app, sent_report, monkeypatch):
    monkeypatch.setitem(app.config, "FOLLOW_UP_REFERENCE_RATE_LIMIT", "3 per 15 minutes")
    _case, reference, key = sent_report()
    for _ in range(3):
        assert sign_in(client, reference, "0000-0000-0000-0000").status_code == 200
    assert sign_in(client, reference, key).status_code == 429  # even the right key waits now
    assert sign_in(client, "OH-2026-99998", "0000-0000-0000-0000").status_code == 200  # other references are not


def test_attempts_are_throttled_per_address(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "FOLLOW_UP_RATE_LIMIT", "4 per 15 minutes")
    for number in range(4):
        assert sign_in(client, f"OH-2026-{number:05d}", "0000-0000-0000-0000").status_code == 200
    assert sign_in(client, "OH-2026-77777", "0000-0000-0000-0000").status_code == 429
    other = client.post(
        "/follow-up", data={"reference": "OH-2026-77777", "key": "x"}, environ_base={"REMOTE_ADDR": "10.9.8.7"}
    )
    assert other.status_code == 200


def test_messages_from_the_office_are_shown_and_marked_read(client, db, sent_report):
    case, reference, key = sent_report()
    staff_message = MessageFactory(case_id=case.id, direction="to_reporter", body="Could you send the post's link?")
    assert staff_message.read_at is None
    sign_in(client, reference, key)
    text = client.get("/follow-up/report").get_data(as_text=True)
    assert "Could you send the post&#39;s link?" in text or "Could you send the post's link?" in text
    db.session.refresh(staff_message)
    assert staff_message.read_at is not None


def test_the_reporter_adds_a_message_and_evidence(client, db, sent_report):
    case, reference, key = sent_report()
    sign_in(client, reference, key)
    response = client.post(
        "/follow-up/report",
        data={
            "message": "Here is the new post from last night.",
            "links": "https://www.instagram.com/p/new/",
            "files": [upload(PNG, "night.png")],
        },
    )
    assert response.status_code == 302
    page = client.get("/follow-up/report").get_data(as_text=True)
    assert "Here is the new post from last night." in page and "The office has received what you sent" in page
    message = db.session.scalar(select(Message).where(Message.case_id == case.id))
    assert message.direction == "from_reporter" and message.read_at is None
    evidence = db.session.scalars(select(Evidence).where(Evidence.case_id == case.id)).all()
    assert {(e.kind, e.source) for e in evidence} == {("file", "reporter"), ("link", "reporter")}
    actions = audit_actions(db, case.id)
    assert "message.from_reporter" in actions and actions.count("evidence.uploaded") == 1
    kinds = {e.kind for e in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))}
    assert {"message", "evidence"} <= kinds


def test_an_empty_follow_up_is_refused_politely(client, sent_report):
    _case, reference, key = sent_report()
    sign_in(client, reference, key)
    response = client.post("/follow-up/report", data={"message": "  "})
    assert response.status_code == 200 and "Write a message or add a file or a link." in response.get_data(as_text=True)


def test_a_refused_file_keeps_the_message_and_the_good_files(client, db, sent_report):
    case, reference, key = sent_report()
    sign_in(client, reference, key)
    response = client.post(
        "/follow-up/report",
        data={"message": "Two more screenshots.", "files": [upload(PNG, "ok.png"), upload(HTML, "bad.png")]},
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "Two more screenshots." in text
    assert "bad.png was not accepted" in text and "ok.png" in text
    assert db.session.scalar(select(Message).where(Message.case_id == case.id)) is None
    token = staging_token(response.data)
    assert (
        client.post("/follow-up/report", data={"message": "Two more screenshots.", "staging_token": token}).status_code
        == 302
    )
    files = db.session.scalars(select(Evidence).where(Evidence.case_id == case.id, Evidence.kind == "file")).all()
    assert [f.file_name for f in files] == ["ok.png"]


def test_leaving_ends_the_portal_session(client, sent_report):
    _case, reference, key = sent_report()
    sign_in(client, reference, key)
    page = client.get("/follow-up/report").get_data(as_text=True)
    assert "Leave" in page
    assert client.post("/follow-up/leave").status_code == 302
    assert client.get("/follow-up/report").status_code == 302


def test_the_portal_session_ends_after_idle_minutes(client, sent_report):
    _case, reference, key = sent_report()
    sign_in(client, reference, key)
    with client.session_transaction() as session:
        session[PORTAL_SEEN] = time.time() - 21 * 60
    response = client.get("/follow-up/report")
    assert response.status_code == 302 and response.location.endswith("/follow-up")
    assert "without activity" in client.get("/follow-up").get_data(as_text=True)


def test_one_portal_session_opens_only_its_own_case(client, db, sent_report):
    first, reference, key = sent_report()
    second, _other_reference, _other_key = sent_report(narrative="Another report entirely, about email threats.")
    sign_in(client, reference, key)
    text = client.get("/follow-up/report").get_data(as_text=True)
    assert first.reference in text and second.reference not in text
