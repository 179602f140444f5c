"""What a person does in the browser, shared by the end-to-end tests: sign in, open a fresh browser, run axe."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyotp

from tests.e2e.conftest import DEMO_PASSWORD

TOTP_INTERVAL = 30
# The last time step whose code each account used in this run: the server accepts each code once.
_used_steps: dict[str, int] = {}


def fresh_totp_code(email: str, secret: str) -> str:
    """A code the server has not seen yet: this time step's, or the next one's (one step of drift is allowed)."""
    current = int(time.time() // TOTP_INTERVAL)
    step = max(current, _used_steps.get(email, -1) + 1)
    if step > current + 1:  # two sign-ins within one step already: wait for the next one
        time.sleep((step - 1) * TOTP_INTERVAL - time.time() + 0.5)
    _used_steps[email] = step
    return pyotp.TOTP(secret, interval=TOTP_INTERVAL).generate_otp(step)


def sign_in(page, email: str, totp_secrets: dict[str, str]) -> None:
    """Sign in through the pages, setting up or answering the second factor when asked."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if page.url.endswith("/account/two-factor"):
        secret = page.locator("#totp-secret").inner_text().replace(" ", "")
        totp_secrets[email] = secret
        page.get_by_label("Code").fill(fresh_totp_code(email, secret))
        page.get_by_role("button", name="Continue").click()
        assert page.locator(".recovery-codes li").count() == 10
        page.get_by_role("link", name=re.compile("I have saved them")).click()
    elif page.url.endswith("/login/code"):
        page.get_by_label("Code").fill(fresh_totp_code(email, totp_secrets[email]))
        page.get_by_role("button", name="Continue").click()


@contextmanager
def browser_page(browser, base_url: str, **options) -> Iterator:
    """A page in a fresh browser context (its own cookies: one person at one computer)."""
    context = browser.new_context(base_url=base_url, **options)
    try:
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
        yield page
    finally:
        context.close()


def serious_accessibility_violations(page, axe_script: Path) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (the context must bypass the CSP)."""
    page.add_script_tag(path=str(axe_script))
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    assert results["passes"], "axe ran no rules"
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {', '.join(str(n['target']) for n in v['nodes'][:5])}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
