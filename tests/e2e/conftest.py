"""End-to-end fixtures: a real server process and a real browser.

- `live_server`: gunicorn on 127.0.0.1 on a free port, against a temporary SQLite database upgraded by
  the migrations and seeded with the demo accounts (password `casework-demo-2026`) and a few cases.
- `browser` / `page`: Debian's chromium (`/usr/bin/chromium`) driven by Playwright, headless, with
  no network but the server's.
- `axe_script`: axe-core from `tests/e2e/vendor/` (installed by `npm ci` when missing: no CDN).

Without chromium or npm these tests are skipped on a developer's machine; with CI=true they fail.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDOR = Path(__file__).resolve().parent / "vendor"
AXE = VENDOR / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CASEWORK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_PASSWORD = "casework-demo-2026"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip on a developer's machine; fail in CI, where nothing may be skipped."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: end-to-end tests may not be skipped)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own 127.0.0.1 server
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer on {url} within {timeout:.0f} s")


@pytest.fixture(scope="session")
def live_workdir() -> Iterator[Path]:
    """A throwaway folder for the live server's database, instance folder, evidence and log."""
    work = Path(tempfile.mkdtemp(prefix="casework-e2e-"))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def live_database(live_workdir) -> Path:
    """The live server's SQLite file: tests read it (never write it) to check what the pages did."""
    return live_workdir / "e2e.db"


@pytest.fixture(scope="session")
def live_server(live_workdir, live_database) -> Iterator[str]:
    """The base URL of a real Casework server (gunicorn) on a throwaway SQLite database with the demo."""
    work = live_workdir
    env = {
        **os.environ,
        "CASEWORK_CONFIG": "development",
        "CASEWORK_DATABASE_URL": f"sqlite:///{live_database}",
        "CASEWORK_INSTANCE_DIR": str(work / "instance"),
        "CASEWORK_STORAGE_DIR": str(work / "storage"),
        "CASEWORK_SECRET_KEY": secrets.token_urlsafe(32),
        "CASEWORK_AUDIT_CHECKPOINT_KEY": secrets.token_urlsafe(32),
        "CASEWORK_LOGIN_RATE_LIMIT": "1000 per minute",
        "CASEWORK_NOTIFY": "0",
        "PYTHONUNBUFFERED": "1",  # server.log is read while the server runs
    }
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for command in (["db", "upgrade"], ["demo", "--cases", "40"]):
        subprocess.run(flask + command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    port = free_port()
    log = (work / "server.log").open("w")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}"),
            *("--access-logfile", "-", "wsgi:app"),  # the access log too, so tests can check what it holds
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base_url}/login", process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, driven by Playwright (no browser download)."""
    if not Path(CHROMIUM).exists():
        unavailable(f"chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) on the live server; console errors are collected."""
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe.min.js from tests/e2e/vendor, installed from the lock file when missing."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm is needed to install axe-core for the accessibility checks")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=VENDOR, check=True, timeout=300)
    return AXE


@pytest.fixture(scope="session")
def totp_secrets() -> dict[str, str]:
    """Second-factor secrets set up during this run, by email (a demo account enrols once)."""
    return {}
