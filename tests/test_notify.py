"""Email notifications: off by default, sent only after the commit, carrying a link and a reference only."""

import email
import email.policy
import socketserver
import threading
from datetime import timedelta

import pytest

from casework import notify
from casework.extensions import db as _db
from casework.models import Case
from tests import factories

PERSONAL = ("Robin", "robin@", "555", "fake profile", "Jordan", "Mastodon")


class _SMTPSink(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept messages from smtplib, kept in `server.messages`."""

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 sink.casework.example.edu ESMTP")
        while line := self.rfile.readline():
            command = line.decode().strip().upper()
            if command.startswith("DATA"):
                self.reply("354 end with <CRLF>.<CRLF>")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                self.server.messages.append(email.message_from_bytes(b"".join(data), policy=email.policy.default))
                self.reply("250 queued")
            elif command.startswith("QUIT"):
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp_sink(app):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPSink)
    server.daemon_threads = True
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    saved = {key: app.config[key] for key in ("NOTIFY", "SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USER")}
    app.config.update(
        NOTIFY=True, SMTP_HOST="127.0.0.1", SMTP_PORT=server.server_address[1], SMTP_SECURITY="none", SMTP_USER=None
    )
    try:
        yield server.messages
    finally:
        app.config.update(saved)
        server.shutdown()
        server.server_close()


def _robins_case(**kwargs) -> Case:
    return factories.CaseFactory(
        anonymous=False,
        reporter_name="Robin Reporter",
        reporter_email="robin@casework.example.edu",
        reporter_phone="+1 301 555 0100",
        narrative="Jordan made a fake profile with my photos.",
        **kwargs,
    )


def _assert_no_personal_data(message):
    text = message.as_string()
    for fragment in PERSONAL:
        assert fragment not in text, fragment


def test_a_new_report_notifies_the_office_after_the_commit_with_a_link_and_reference_only(app, db, smtp_sink):
    intake = factories.UserFactory(role="intake")
    investigator = factories.UserFactory(role="investigator")
    factories.UserFactory(role="conduct_officer")
    factories.UserFactory(role="intake", active=False)
    case = _robins_case()
    assert notify.notify_new_report(case) == 2
    assert smtp_sink == []  # nothing leaves before the commit
    _db.session.commit()
    assert sorted(message["To"] for message in smtp_sink) == sorted([intake.email, investigator.email])
    message = smtp_sink[0]
    assert case.reference in message["Subject"]
    body = message.get_content()
    assert f"http://127.0.0.1:5000/cases/{case.reference}" in body
    _assert_no_personal_data(message)


def test_nothing_is_sent_when_the_change_is_rolled_back(app, db, smtp_sink):
    factories.UserFactory(role="intake")
    case = _robins_case()
    nested = _db.session.begin_nested()
    notify.notify_new_report(case)
    nested.rollback()
    _db.session.rollback()
    _db.session.commit()
    assert smtp_sink == []


def test_a_referral_notifies_only_the_office_it_went_to(app, db, smtp_sink):
    conduct = factories.UserFactory(role="conduct_officer")
    factories.UserFactory(role="intake")
    factories.UserFactory(role="police_liaison")
    case = _robins_case()
    notify.notify_referral(case, "conduct")
    _db.session.commit()
    assert [message["To"] for message in smtp_sink] == [conduct.email]
    assert "Student Conduct" in smtp_sink[0]["Subject"]
    _assert_no_personal_data(smtp_sink[0])


def test_deadline_reminders_go_to_the_assignee_or_else_the_office(app, runner, db, smtp_sink):
    assignee = factories.UserFactory(role="investigator")
    police = factories.UserFactory(role="police_liaison")
    today = notify.local_today()
    mine = _robins_case(status="triaged", due_on=today + timedelta(days=1), assignee_id=assignee.id)
    overdue = _robins_case(status="triaged", due_on=today - timedelta(days=3), assignee_id=assignee.id)
    unassigned = _robins_case(status="referred_umpd", office="umpd", due_on=today)
    later = _robins_case(status="triaged", due_on=today + timedelta(days=30), assignee_id=assignee.id)
    result = runner.invoke(args=["notify", "deadlines", "--days", "2"])
    assert result.exit_code == 0, result.output
    assert "3 case(s) with a deadline approaching" in result.output
    by_recipient = {message["To"]: message for message in smtp_sink}
    assert set(by_recipient) == {assignee.email, police.email}
    theirs = by_recipient[assignee.email].get_content()
    assert mine.reference in theirs and overdue.reference in theirs and later.reference not in theirs
    assert unassigned.reference in by_recipient[police.email].get_content()
    for message in smtp_sink:
        _assert_no_personal_data(message)


def test_notifications_are_off_by_default(app, runner, db):
    assert app.config["NOTIFY"] is False
    factories.UserFactory(role="intake")
    assert notify.notify_new_report(_robins_case()) == 0
    result = runner.invoke(args=["notify", "deadlines"])
    assert result.exit_code == 0 and "notifications are off" in result.output


def test_an_unreachable_mail_server_never_breaks_the_change(app, db, caplog):
    factories.UserFactory(role="intake")
    saved = {key: app.config[key] for key in ("NOTIFY", "SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY")}
    app.config.update(NOTIFY=True, SMTP_HOST="127.0.0.1", SMTP_PORT=1, SMTP_SECURITY="none")
    try:
        case = _robins_case()
        notify.notify_new_report(case)
        _db.session.commit()
    finally:
        app.config.update(saved)
    assert "could not send 1 message(s)" in caplog.text
    assert "casework.example.edu" not in caplog.text
