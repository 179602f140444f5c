"""In a real browser: every demo role signs in (setting up two-step sign-in where the role needs it)
and sees its home page; the sign-in page passes axe-core's accessibility rules."""

import pytest

from tests.e2e.pages import sign_in

pytestmark = pytest.mark.e2e

DEMO_HOMES = [
    ("admin@demo.example.edu", "Ada Admin", "Running the system"),
    ("intake@demo.example.edu", "Imani Intake", "New reports to triage"),
    ("investigator@demo.example.edu", "Ivan Investigator", "EOA cases and reports awaiting triage"),
    ("conduct@demo.example.edu", "Cora Conduct", "Cases referred to Student Conduct"),
    ("police@demo.example.edu", "Paolo Police", "Cases referred to the campus police"),
    ("auditor@demo.example.edu", "Aud Auditor", "You change nothing"),
]


@pytest.mark.parametrize(("email", "name", "home_text"), DEMO_HOMES, ids=[row[0].split("@")[0] for row in DEMO_HOMES])
def test_each_demo_role_signs_in_and_sees_its_home_page(page, live_server, totp_secrets, email, name, home_text):
    sign_in(page, email, totp_secrets)
    assert page.url == f"{live_server}/"
    assert page.get_by_role("heading", level=1).inner_text() == f"Welcome, {name}"
    assert home_text in page.locator("main").inner_text()
    assert page.console_errors == []  # nothing blocked by the Content-Security-Policy
    page.get_by_role("button", name="Sign out").click()
    assert "You are signed out" in page.locator("main").inner_text()


def test_the_sign_in_page_has_no_accessibility_violations(browser, live_server, axe_script):
    # axe is injected as a script element; the page's CSP (rightly) forbids that, so this context bypasses it.
    context = browser.new_context(base_url=live_server, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto("/login")
        page.add_script_tag(path=str(axe_script))
        results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    finally:
        context.close()
    violations = [f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} node(s)" for v in results["violations"]]
    assert violations == [], "\n".join(violations)
    assert results["passes"], "axe ran no rules"
