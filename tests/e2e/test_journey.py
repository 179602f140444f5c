"""In a real browser, one report from the form to an audited close: the reporter, the intake coordinator,
the conduct officer and the auditor each use only the pages, by clicking and typing."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from casework import audit
from tests.e2e.pages import browser_page, open_follow_up, send_report, sign_in, small_pdf, small_png

pytestmark = pytest.mark.e2e


def open_case_from_queue(page, queue_label: str, reference: str) -> None:
    """From the navigation, through a queue, to the case page."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cases", exact=True).click()
    page.get_by_role("navigation", name="Queues").get_by_role("link", name=queue_label).click()
    page.get_by_role("link", name=reference, exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Case {reference}"


def fire_action(page, action: str, fields: dict[str, str], selects: dict[str, str] | None = None) -> None:
    """Fill one action form on the case page (a fieldset named after the action) and send it."""
    form = page.get_by_role("group", name=action, exact=True)
    for label, value in (selects or {}).items():
        form.get_by_label(label).select_option(label=value)
    for label, value in fields.items():
        form.get_by_label(label).fill(value)
    form.get_by_role("button", name=action, exact=True).click()
    assert f"{action}: done." in page.locator("main").inner_text()


def test_a_report_travels_from_the_form_through_conduct_to_an_audited_close(
    browser, live_server, live_database, live_workdir, totp_secrets
):
    tag = uuid.uuid4().hex[:8]
    narrative = f"Someone keeps posting my photos with insults under them ({tag})."
    respondent = f"Riley Respondent {tag}"
    question = f"Did you keep the messages from before March? ({tag})"
    answer = f"Yes, I still have all of them ({tag})."
    note = f"Called the residence hall office ({tag})."
    summary = f"Respondent met the conduct board; the posts were removed ({tag})."

    # The reporter sends the report and keeps the reference and the key.
    with browser_page(browser, live_server) as reporter:
        reference, key = send_report(reporter, narrative, respondent)
        assert reporter.console_errors == []

    # The intake coordinator finds it among new reports, triages it and refers it to Student Conduct.
    with browser_page(browser, live_server) as intake:
        sign_in(intake, "intake@demo.example.edu", totp_secrets)
        open_case_from_queue(intake, "New reports", reference)
        main = intake.locator("main")
        assert narrative in main.inner_text()
        assert respondent in main.inner_text()
        evidence = intake.get_by_role("table", name="Links and files")
        assert "screenshot.png" in evidence.inner_text() and "messages.pdf" in evidence.inner_text()
        fire_action(
            intake,
            "Triage",
            {"Jurisdiction note": "Student respondent, conduct on campus social media."},
            {"Risk level": "Medium"},
        )
        fire_action(intake, "Refer to Student Conduct", {"Reason for referral": "The respondent is a student."})
        assert "Referred to Student Conduct" in intake.locator(".page-head").inner_text()
        # ... and finds it again by the respondent's name, which no address the browser was sent to holds.
        intake.goto(f"{live_server}/cases/all")
        addresses = []
        intake.on("request", lambda request: addresses.append(request.url))
        intake.get_by_label("Search the text").fill(respondent)
        intake.get_by_role("button", name="Show cases").click()
        assert reference in intake.locator("main").inner_text()
        assert "search=" in intake.url and [url for url in addresses if tag in url] == []

    # The conduct officer acknowledges it, keeps a note and asks the reporter a question.
    with browser_page(browser, live_server) as officer:
        sign_in(officer, "conduct@demo.example.edu", totp_secrets)
        open_case_from_queue(officer, "Awaiting acknowledgement", reference)
        fire_action(officer, "Acknowledge referral", {})
        officer.get_by_label("Note", exact=True).fill(note)
        officer.get_by_role("button", name="Add note").click()
        assert "Note added." in officer.locator("main").inner_text()
        assert note in officer.locator("#timeline").inner_text()
        officer.get_by_label("Reply to the reporter").fill(question)
        officer.get_by_role("button", name="Send reply").click()
        assert question in officer.locator("#thread").inner_text()

        # The reporter reads the question in the follow-up portal and answers it.
        with browser_page(browser, live_server) as reporter:
            open_follow_up(reporter, reference, key)
            assert reporter.locator("#public-status").inner_text() == "Referred to another office"
            assert question in reporter.locator("main").inner_text()
            reporter.get_by_label("Your message").fill(answer)
            reporter.get_by_role("button", name="Send", exact=True).click()
            assert "Thank you. The office has received what you sent." in reporter.locator("main").inner_text()
            assert answer in reporter.locator("main").inner_text()

            # The officer sees the answer and closes the case.
            officer.reload()
            assert answer in officer.locator("#thread").inner_text()
            fire_action(
                officer,
                "Close case",
                {"Closing summary": summary},
                {"Disposition": "Sanction applied"},
            )
            assert "Closed" in officer.locator(".page-head").inner_text()

            # The reporter sees that the case is closed.
            reporter.reload()
            assert reporter.locator("#public-status").inner_text() == "Closed"

    # The auditor (with the second factor) verifies the trail.
    with browser_page(browser, live_server) as auditor:
        sign_in(auditor, "auditor@demo.example.edu", totp_secrets)
        auditor.get_by_role("navigation", name="Main").get_by_role("link", name="Audit trail").click()
        auditor.get_by_label("Case reference").fill(reference.lower())
        auditor.get_by_role("button", name="Filter").click()
        auditor.get_by_role("link", name=reference).first.click()
        assert auditor.get_by_role("heading", level=1).inner_text() == f"History of {reference}"
        history = auditor.locator("main").inner_text()
        assert "case.transition" in history and "message.from_reporter" in history
        history_url = auditor.url
        auditor.get_by_role("navigation", name="Audit workspace").get_by_role("link", name="Verification").click()
        auditor.get_by_role("button", name="Verify the trail now").click()
        outcome = auditor.get_by_role("status").inner_text()
        assert "The audit trail is intact" in outcome
        # ... and files the case's audit history as a PDF.
        auditor.goto(history_url)
        with auditor.expect_download() as download:
            auditor.get_by_role("link", name="Audit history (PDF)").click()
        assert download.value.suggested_filename == f"{reference}-audit-history.pdf"
        pdf = Path(download.value.path()).read_bytes()
        assert pdf.startswith(b"%PDF-")
        assert auditor.console_errors == []

    # What the pages did, as the database holds it: each step once, and a chain that verifies.
    with sqlite3.connect(f"file:{live_database}?mode=ro", uri=True) as connection:
        case_id, status, disposition = connection.execute(
            "SELECT id, status, disposition FROM cases WHERE reference = ?", (reference,)
        ).fetchone()
        assert (status, disposition) == ("closed", "sanction_applied")
        events = connection.execute("SELECT kind, trigger FROM case_events WHERE case_id = ?", (case_id,)).fetchall()
        steps = Counter(trigger or kind for kind, trigger in events)
        generated = connection.execute(
            "SELECT details FROM audit_entries WHERE case_id = ? AND action = 'pdf.generated'", (case_id,)
        ).fetchall()
        assert [json.loads(details)["sha256"] for (details,) in generated] == [hashlib.sha256(pdf).hexdigest()]
        expected = {"intake": 1, "triage": 1, "refer_conduct": 1, "acknowledge": 1, "note": 1, "message": 2, "close": 1}
        assert steps == Counter(expected), steps
        messages = connection.execute("SELECT direction, body FROM messages WHERE case_id = ? ORDER BY id", (case_id,))
        assert messages.fetchall() == [("to_reporter", question), ("from_reporter", answer)]
        files = connection.execute(
            "SELECT file_name, sha256 FROM evidence WHERE case_id = ? AND kind = 'file' ORDER BY file_name", (case_id,)
        ).fetchall()
        assert files == [  # the files as the reporter's computer held them
            ("messages.pdf", hashlib.sha256(small_pdf("Messages")).hexdigest()),
            ("screenshot.png", hashlib.sha256(small_png()).hexdigest()),
        ]
        columns = ", ".join(audit.COLUMN_NAMES)
        rows = [
            (seq, datetime.fromisoformat(created_at), *rest)
            for seq, created_at, *rest in connection.execute(f"SELECT {columns} FROM audit_entries ORDER BY seq")  # noqa: S608
        ]
        assert audit.verify_rows(rows).ok
        actions = Counter(
            action for (action,) in connection.execute("SELECT action FROM audit_entries WHERE case_id = ?", (case_id,))
        )
        assert actions["case.transition"] == 4  # triage, refer, acknowledge, close
        assert actions["note.add"] == actions["message.to_reporter"] == actions["message.from_reporter"] == 1
        assert actions["evidence.uploaded"] == 2

    # Nothing the people wrote reached the server's own output (gunicorn's log and the application's).
    server_log = (live_workdir / "server.log").read_text(errors="replace")
    assert f'"GET /cases/{reference} HTTP/1.1" 200' in server_log  # the access log is there to be checked
    assert [text for text in (narrative, respondent, question, answer, note, summary, key) if text in server_log] == []
    assert tag not in server_log  # nor any of their words in any encoding
