"""What a person does in the browser, shared by the end-to-end tests: sign in, open a fresh browser, run axe."""

from __future__ import annotations

import re
import struct
import time
import zlib
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


def small_png() -> bytes:
    """A valid 2×2 grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80\x80" * 2)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def small_pdf(text: str) -> bytes:
    """A valid one-page PDF showing `text`, with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def send_report(page, narrative: str, respondent: str) -> tuple[str, str]:
    """The reporter fills the form (a student respondent, two files), sends it and reads the receipt."""
    page.goto("/report")
    page.get_by_label("Describe what happened").fill(narrative)
    person = page.get_by_role("group", name="Person 1")
    person.get_by_label("Their part").select_option(label="The person harassing me")
    person.get_by_label("Name, if known").fill(respondent)
    person.get_by_label("Handle or username").fill("@" + respondent.lower().replace(" ", "_"))
    person.get_by_label("Platform").select_option(label="Instagram")
    person.get_by_label("Their connection to the university").select_option(label="Student")
    page.get_by_role("group", name="Where is it happening?").get_by_label("Instagram").check()
    page.get_by_label("Add screenshots or documents").set_input_files(
        [
            {"name": "screenshot.png", "mimeType": "image/png", "buffer": small_png()},
            {"name": "messages.pdf", "mimeType": "application/pdf", "buffer": small_pdf("Messages")},
        ]
    )
    page.get_by_role("button", name="Send report").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Thank you. Your report has been sent."
    reference = page.locator("#reference").inner_text().strip()
    key = page.locator("#follow-up-key").inner_text().strip()
    assert reference.startswith("OH-") and key
    return reference, key


def open_follow_up(page, reference: str, key: str) -> None:
    page.goto("/report")
    page.get_by_role("link", name="Follow up on your report").click()
    page.get_by_label("Case reference").fill(reference)
    page.get_by_label("Follow-up key").fill(key)
    page.get_by_role("button", name="Open my report").click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Your report {reference}"
