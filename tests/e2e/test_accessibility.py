"""In a real browser: the report form works with the keyboard alone, with focus always visible, and the
reporter's and the staff's main pages have no serious or critical axe-core violations."""

from __future__ import annotations

import re
import sqlite3
import uuid

import pytest

from tests.e2e.pages import browser_page, open_follow_up, send_report, serious_accessibility_violations, sign_in

pytestmark = pytest.mark.e2e

MAX_TABS = 150

FOCUSED = """() => {
  const e = document.activeElement;
  const style = getComputedStyle(e);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  return {id: e.id, tag: e.tagName.toLowerCase(), type: e.type || '', text: (e.innerText || e.value || '').trim(),
          label: e.labels && e.labels.length ? e.labels[0].innerText.trim() : '',
          checked: !!e.checked, visible: outline || style.boxShadow !== 'none'};
}"""


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def tab_until(page, wanted, key: str = "Tab") -> dict:
    """Press Tab (or Shift+Tab) until the focused element is the one wanted; fail if it never comes."""
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        element = focused(page)
        if wanted(element):
            return element
    raise AssertionError(f"{key} never reached the element; focus ended on {focused(page)}")


def assert_focus_visible(element: dict) -> None:
    assert element["visible"], f"no visible focus indicator on {element}"


def test_a_reporter_completes_the_report_form_with_the_keyboard_alone(browser, live_server, live_database):
    narrative = f"Keyboard only: someone sends me threats on Discord every night ({uuid.uuid4().hex[:8]})."
    with browser_page(browser, live_server) as page:
        page.goto("/report")

        skip = tab_until(page, lambda e: e["text"] == "Skip to main content")
        assert_focus_visible(skip)
        page.keyboard.press("Enter")  # straight past the header to the page's content

        anonymous = tab_until(page, lambda e: e["id"] == "identity-0")
        assert anonymous["checked"], "the report starts anonymous"
        assert_focus_visible(anonymous)

        assert_focus_visible(tab_until(page, lambda e: e["id"] == "narrative"))
        page.keyboard.type(narrative)
        # Back one field and forward again: nothing typed is lost.
        assert_focus_visible(tab_until(page, lambda e: e["id"] != "narrative", key="Shift+Tab"))
        assert focused(page)["id"] != "narrative"
        assert tab_until(page, lambda e: e["id"] == "narrative")["text"] == narrative

        discord = tab_until(page, lambda e: e["id"].startswith("platforms") and e["label"] == "Discord")
        assert_focus_visible(discord)
        page.keyboard.press("Space")
        assert focused(page)["checked"]

        first_answer = tab_until(page, lambda e: e["id"] == "in_danger-0")
        assert_focus_visible(first_answer)
        page.keyboard.press("ArrowDown")  # "No": arrows move the choice within a radio group
        no = focused(page)
        assert (no["label"], no["checked"]) == ("No", True)
        assert_focus_visible(no)

        send = tab_until(page, lambda e: e["tag"] in ("button", "input") and e["text"] == "Send report")
        assert_focus_visible(send)
        page.keyboard.press("Enter")

        page.wait_for_url(re.compile(r"/report/received(#.*)?$"))
        assert page.get_by_role("heading", level=1).inner_text() == "Thank you. Your report has been sent."
        reference = page.locator("#reference").inner_text().strip()
        assert page.console_errors == []

    with sqlite3.connect(f"file:{live_database}?mode=ro", uri=True) as connection:
        case_id, stored, anonymous_case, in_danger = connection.execute(
            "SELECT id, narrative, anonymous, in_danger FROM cases WHERE reference = ?", (reference,)
        ).fetchone()
        platforms = connection.execute("SELECT platform FROM case_platforms WHERE case_id = ?", (case_id,)).fetchall()
    assert (stored, anonymous_case, in_danger) == (narrative, 1, 0)
    assert platforms == [("discord",)]


def check_pages(page, axe_script, pages: dict[str, str]) -> dict[str, list[str]]:
    """{page name: its serious and critical violations} for each named path."""
    found = {}
    for name, path in pages.items():
        page.goto(path)
        violations = serious_accessibility_violations(page, axe_script)
        if violations:
            found[name] = violations
    return found


def test_the_reporters_pages_have_no_serious_accessibility_violations(browser, live_server, axe_script):
    # axe is injected as a script element; the page's CSP (rightly) forbids that, so these contexts bypass it.
    with browser_page(browser, live_server, bypass_csp=True) as page:
        found = check_pages(page, axe_script, {"report form": "/report", "follow-up sign-in": "/follow-up"})
        reference, key = send_report(page, "I am checking that these pages work for everyone.", "Sam Sample")
        found |= check_pages(page, axe_script, {"receipt": "/report/received"})
        open_follow_up(page, reference, key)
        found |= check_pages(page, axe_script, {"follow-up portal": "/follow-up/report"})
    assert found == {}, found


def test_the_staff_queue_and_case_page_have_no_serious_accessibility_violations(
    browser, live_server, axe_script, totp_secrets
):
    with browser_page(browser, live_server, bypass_csp=True) as page:
        sign_in(page, "intake@demo.example.edu", totp_secrets)
        found = check_pages(page, axe_script, {"home": "/", "queue": "/cases/?queue=all"})
        case_path = page.get_by_role("table").get_by_role("link").first.get_attribute("href")
        found |= check_pages(page, axe_script, {"case page": case_path, "record a report": "/staff/report"})
    assert found == {}, found


def test_the_auditors_pages_have_no_serious_accessibility_violations(browser, live_server, axe_script, totp_secrets):
    with browser_page(browser, live_server, bypass_csp=True) as page:
        sign_in(page, "auditor@demo.example.edu", totp_secrets)
        found = check_pages(page, axe_script, {"trail": "/audit/", "verification": "/audit/verification"})
        page.goto("/cases/?queue=all")
        reference = page.get_by_role("table").get_by_role("link").first.inner_text()
        found |= check_pages(page, axe_script, {"case history": f"/audit/cases/{reference}", "export": "/audit/export"})
    assert found == {}, found
