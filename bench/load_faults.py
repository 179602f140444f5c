"""Load and faults against a real gunicorn on 127.0.0.1, on SQLite and on PostgreSQL.

    python bench/load_faults.py --seconds 60                       # SQLite, then PostgreSQL if a URL is known
    python bench/load_faults.py --seconds 60 --pg-url postgresql+psycopg://postgres@127.0.0.1:55433/casework_test
    (or CASEWORK_BENCH_PG_URL, or CASEWORK_DATABASE_URL when it points at PostgreSQL)

Each database gets a fresh database of its own (a SQLite file in a temporary directory; on PostgreSQL a
temporary database created next to the one in the URL and dropped afterwards), upgraded by the migrations
and seeded with the demo accounts (`flask demo --cases 0`).

1. Load: gunicorn with several sync workers; five "hot" cases sent through the public report form; --sessions
   staff sessions (half intake, half investigator, signed in through /login with CSRF tokens from the page)
   fire the transitions their case page offers and add notes on the hot cases for --seconds. Every transition
   carries the version of the page the session last saw; on a 409 the session reloads the case page. Every
   text a session sends carries a unique id, so after the run each success the client saw (a 302) is looked
   up in the timeline: it must be there exactly once, and nothing may be there that no client saw succeed.
   Zero 500s, every conflict a 409, the timeline of each case a connected chain of states whose case version
   counts exactly its transitions, and no "database is locked" (nor any traceback) in the server's log.
2. Faults: a few threads send public reports with evidence files in a loop while worker processes are killed
   with SIGKILL mid-stream (gunicorn respawns them). Afterwards every case must be whole (its parties,
   platforms, behaviours, reporter key, intake event, `case.created` audit entry, and its evidence rows with
   their files in storage, hashes matching, each with its audit entry), no row may point at a missing case,
   every receipt a reporter got must name a case, and `flask audit verify` must exit 0.

Prints requests, successes, conflicts, lost updates and p50/p99 latency; exits non-zero on any failure.
The test suite runs a short form of both (tests/load/test_load_faults.py).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "casework-demo-2026"  # noqa: S105 - the demo accounts' published password
STAFF = ("intake@demo.example.edu", "investigator@demo.example.edu")
HOT_CASES = 5
UID_PATTERN = re.compile(r"load-[0-9a-f]{16}")
# The transitions that keep a case with the EOA, so that every session (intake and investigator) sees it throughout.
TRIGGERS = frozenset({"triage", "refer_eoa", "acknowledge", "return_to_triage", "close", "reopen"})
SERVER_ERRORS = ("database is locked", "Traceback", "OperationalError", "Exception on ")


# -- databases -------------------------------------------------------------------------------------------


def default_pg_url() -> str | None:
    for name in ("CASEWORK_BENCH_PG_URL", "CASEWORK_DATABASE_URL"):
        value = os.environ.get(name, "")
        if value.startswith("postgresql"):
            return value
    return None


@contextmanager
def fresh_database(kind: str, pg_url: str | None = None) -> Iterator[str]:
    """A new, empty database: a SQLite file in a temporary directory, or a PostgreSQL database next to pg_url."""
    if kind == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="casework-load-db-"))
        try:
            yield f"sqlite:///{directory / 'load.db'}"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    import psycopg
    from sqlalchemy.engine import make_url

    if not pg_url:
        raise SystemExit("PostgreSQL needs --pg-url (or CASEWORK_BENCH_PG_URL / CASEWORK_DATABASE_URL)")
    url = make_url(pg_url)
    name = f"casework_load_{uuid.uuid4().hex[:12]}"
    params = {"host": url.host or "127.0.0.1", "port": url.port or 5432, "user": url.username, "dbname": url.database}
    if url.password:
        params["password"] = url.password
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**params, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the server ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn (sync workers) on a free 127.0.0.1 port, its instance and storage in a temporary directory."""

    def __init__(self, database_url: str, workers: int = 4) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="casework-load-"))
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.storage = self.work / "storage"
        self.log_path = self.work / "server.log"
        self.process: subprocess.Popen | None = None
        self.env = {
            **os.environ,
            "CASEWORK_CONFIG": "development",
            "CASEWORK_DATABASE_URL": database_url,
            "CASEWORK_INSTANCE_DIR": str(self.work / "instance"),
            "CASEWORK_STORAGE_DIR": str(self.storage),
            "CASEWORK_SECRET_KEY": secrets.token_urlsafe(32),
            "CASEWORK_AUDIT_CHECKPOINT_KEY": secrets.token_urlsafe(32),
            "CASEWORK_LOGIN_RATE_LIMIT": "100000 per minute",
            "CASEWORK_REPORT_RATE_LIMIT": "100000 per hour",
            "CASEWORK_REPORT_POST_RATE_LIMIT": "100000 per hour",
            "CASEWORK_NOTIFY": "0",
        }

    def flask(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
        result = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300)
        if check and result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def prepare(self) -> None:
        self.flask("db", "upgrade")
        self.flask("demo", "--cases", "0")

    def start(self) -> None:
        log = self.log_path.open("a")
        command = [sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--worker-class", "sync"]
        command += ["--bind", f"127.0.0.1:{self.port}", "--timeout", "60", "--graceful-timeout", "10", "wsgi:app"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {self.process.returncode}:\n{self.log()}")
            try:
                if Browser(self.base_url).get("/login").status == 200 and len(self.worker_pids()) == self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within 60 s:\n{self.log()}")

    def worker_pids(self) -> list[int]:
        """The gunicorn master's children (its workers), from /proc."""
        assert self.process is not None
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == self.process.pid:
                pids.append(int(stat.parent.name))
        return pids

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def error_lines(self) -> list[str]:
        return [line for line in self.log().splitlines() if any(marker in line for marker in SERVER_ERRORS)]

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.work, ignore_errors=True)


@contextmanager
def running_server(database_url: str, workers: int) -> Iterator[Server]:
    server = Server(database_url, workers)
    try:
        server.prepare()
        server.start()
        yield server
    except BaseException:
        print(f"The server's log ended with:\n{server.log()[-6000:]}", file=sys.stderr)
        raise
    finally:
        server.cleanup()


# -- a tiny browser --------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def location(self) -> str:
        return urlsplit(self.headers.get("Location", "")).path


class Browser:
    """One user's cookie jar over http.client (gunicorn's sync workers close every connection)."""

    def __init__(self, base_url: str, timeout: float = 60) -> None:
        parts = urlsplit(base_url)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None) -> Response:
        headers = {"Host": f"{self.host}:{self.port}", "Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if content_type:
            headers["Content-Type"] = content_type
        started = time.perf_counter()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            reply = connection.getresponse()
            data = reply.read()
        finally:
            connection.close()
        seconds = time.perf_counter() - started
        for header in reply.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value in ("", '""') or "max-age=0" in header.lower() or "expires=thu, 01 jan 1970" in header.lower():
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        return Response(reply.status, reply.headers, data, seconds)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, fields: list[tuple[str, str]]) -> Response:
        return self.request("POST", path, urlencode(fields).encode(), "application/x-www-form-urlencoded")

    def post_multipart(self, path: str, fields: list[tuple[str, str]], files: list[tuple[str, str, bytes]]) -> Response:
        boundary = f"----casework{secrets.token_hex(12)}"
        parts = []
        for name, value in fields:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for name, filename, content in files:
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            )
            parts.append(head.encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request("POST", path, b"".join(parts), f"multipart/form-data; boundary={boundary}")

    def sign_in(self, email: str, password: str) -> None:
        page = self.get("/login")
        token = hidden_value(page.text, "csrf_token")
        answer = self.post("/login", [("csrf_token", token), ("email", email), ("password", password)])
        if answer.status != 302 or "/login" in answer.location:
            raise RuntimeError(f"sign-in of {email} failed: {answer.status} {answer.text[:300]}")


def hidden_value(page: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" type="hidden" value="([^"]*)"', page) or re.search(
        rf'type="hidden" name="{re.escape(name)}" value="([^"]*)"', page
    )
    if not match:
        raise RuntimeError(f"no hidden field {name} on the page")
    return match.group(1)


@dataclass
class Form:
    action: str
    hidden: list[tuple[str, str]] = field(default_factory=list)
    selects: dict[str, list[str]] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)


class FormParser(HTMLParser):
    """The POST forms of a page: action, hidden fields, selects (their option values) and text inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._form = Form(action=a.get("action") or "")
        elif self._form is None:
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind == "hidden":
                self._form.hidden.append((a["name"], a.get("value") or ""))
            elif kind in ("text", "email") and a.get("name"):
                self._form.texts.append(a["name"])
        elif tag == "textarea" and a.get("name"):
            self._form.texts.append(a["name"])
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self._form.selects[self._select] = []
        elif tag == "option" and self._select is not None and a.get("value"):
            self._form.selects[self._select].append(a["value"])

    def handle_endtag(self, tag):
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select":
            self._select = None


def parse_forms(page: str) -> list[Form]:
    parser = FormParser()
    parser.feed(page)
    return parser.forms


# -- the public report -----------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
REPORT_FIELDS = [
    ("identity", "anonymous"),
    ("narrative", "A fake account sends my classmates messages in my name (load test)."),
    ("parties-0-kind", "respondent"),
    ("parties-0-name", "Jordan Example"),
    ("parties-0-handle", "@fake_profile_01"),
    ("parties-0-platform", "instagram"),
    ("parties-0-affiliation", "student"),
    ("parties-1-kind", "respondent"),
    ("parties-2-kind", "respondent"),
    ("platforms", "instagram"),
    ("behaviours", "impersonation"),
    ("ongoing", "yes"),
    ("connected", "no"),
    ("links", "https://www.instagram.com/fake_profile_01/"),
    ("in_danger", "no"),
    ("website", ""),
]
REPORT_SHAPE = {"parties": 1, "platforms": 1, "behaviours": 1, "files": 2, "links": 1}


def report_files(tag: str) -> list[tuple[str, str, bytes]]:
    """A screenshot and a letter, unique to this report (so each stored file can be told apart)."""
    return [("files", "screenshot.png", PNG + tag.encode()), ("files", "letter.pdf", PDF + f"% {tag}\n".encode())]


def send_report(browser: Browser, tag: str) -> str:
    """Fill in and send the public report form; the reference on the receipt."""
    page = browser.get("/report")
    if page.status != 200:
        raise RuntimeError(f"GET /report answered {page.status}")
    fields = [("csrf_token", hidden_value(page.text, "csrf_token"))]
    fields.append(("staging_token", hidden_value(page.text, "staging_token")))
    answer = browser.post_multipart("/report", fields + REPORT_FIELDS, report_files(tag))
    if answer.status != 302:
        raise RuntimeError(f"POST /report answered {answer.status}: {answer.text[:500]}")
    receipt = browser.get(answer.location)
    match = re.search(r'id="reference">([^<]+)<', receipt.text)
    if not match:
        raise RuntimeError("the receipt names no reference")
    return match.group(1).strip()


# -- part 1: load ----------------------------------------------------------------------------------------


@dataclass
class Claim:
    """What one client believes succeeded."""

    reference: str
    kind: str  # "note" or the transition's trigger
    uid: str | None  # None for a transition without text (acknowledge)


@dataclass
class LoadStats:
    requests: int = 0
    latencies: list[float] = field(default_factory=list)
    post_latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    claims: list[Claim] = field(default_factory=list)
    conflicts: int = 0
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, response: Response, post: bool) -> None:
        with self.lock:
            self.requests += 1
            self.latencies.append(response.seconds)
            if post:
                self.post_latencies.append(response.seconds)
            self.statuses[response.status] += 1

    def fail(self, message: str) -> None:
        with self.lock:
            self.unexpected.append(message)


def new_uid() -> str:
    return f"load-{secrets.token_hex(8)}"


def fill_transition(form: Form, uid: str) -> list[tuple[str, str]]:
    fields = list(form.hidden)
    for name, options in form.selects.items():
        fields.append((name, options[0]))
    for name in form.texts:
        fields.append((name, f"Load test {uid}"))
    return fields


def staff_session(browser: Browser, references: list[str], deadline: float, seed: int, stats: LoadStats):
    """Act on the hot cases until the deadline: transitions (from the page last seen) and notes."""
    rng = random.Random(seed)
    seen: dict[str, list[Form]] = {}

    def load(reference: str) -> None:
        page = browser.get(f"/cases/{reference}")
        stats.record(page, post=False)
        if page.status != 200:
            stats.fail(f"GET /cases/{reference} answered {page.status}")
            seen.pop(reference, None)
            return
        seen[reference] = parse_forms(page.text)

    while time.monotonic() < deadline:
        reference = rng.choice(references)
        try:
            if reference not in seen:
                load(reference)
                continue
            forms = seen[reference]
            actions = [f for f in forms if "/actions/" in f.action and f.action.rsplit("/", 1)[1] in TRIGGERS]
            note = next((f for f in forms if f.action.endswith("/notes")), None)
            uid = new_uid()
            if actions and (note is None or rng.random() < 0.7):
                form = rng.choice(actions)
                trigger = form.action.rsplit("/", 1)[1]
                answer = browser.post(form.action, fill_transition(form, uid))
                claim = Claim(reference, trigger, uid if form.texts else None)
            elif note is not None:
                fields = [*note.hidden, ("note-body", f"Load test note {uid}"), ("note-visibility", "shared")]
                answer = browser.post(note.action, fields)
                claim = Claim(reference, "note", uid)
            else:
                load(reference)
                continue
            stats.record(answer, post=True)
            if answer.status == 302:
                with stats.lock:
                    stats.claims.append(claim)
                load(reference)  # follow the redirect: the case page at its new version
            elif answer.status == 409:
                with stats.lock:
                    stats.conflicts += 1
                load(reference)
            else:
                stats.fail(f"POST {claim.kind} on {reference} answered {answer.status}: {answer.text[:200]!r}")
                load(reference)
        except OSError as error:
            stats.fail(f"{reference}: connection error {error!r}")
            seen.pop(reference, None)


def sign_in_all(base_url: str, sessions: int) -> list[Browser]:
    """Sign in every session before the clock starts (half intake, half investigator)."""
    browsers = [Browser(base_url) for _ in range(sessions)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: browsers[i].sign_in(STAFF[i % 2], DEMO_PASSWORD), range(sessions)))
    return browsers


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


@dataclass
class LoadResult:
    database: str
    seconds: float
    sessions: int
    requests: int
    successes: int
    conflicts: int
    lost_updates: int
    phantom_updates: int
    server_errors: int
    p50_ms: float
    p99_ms: float
    post_p99_ms: float
    problems: list[str]

    def summary(self) -> str:
        return (
            f"[{self.database}] load {self.seconds:.0f} s, {self.sessions} sessions: {self.requests} requests, "
            f"{self.successes} successes, {self.conflicts} conflicts (409), {self.lost_updates} lost updates, "
            f"{self.phantom_updates} unclaimed changes, {self.server_errors} server errors; latency p50 "
            f"{self.p50_ms:.0f} ms, p99 {self.p99_ms:.0f} ms (POST p99 {self.post_p99_ms:.0f} ms)"
        )


def check_timeline(database_url: str, references: list[str], claims: list[Claim]) -> tuple[int, int, list[str]]:
    """Compare what the clients saw succeed with the rows: (lost updates, unclaimed changes, other problems)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    problems: list[str] = []
    lost = phantom = 0
    try:
        with engine.connect() as connection:
            cases = {
                row.reference: row
                for row in connection.execute(text("SELECT id, reference, status, version FROM cases")).all()
                if row.reference in references
            }
            by_id = {cases[r].id: r for r in references}
            events = connection.execute(
                text(
                    "SELECT id, case_id, kind, trigger, from_state, to_state, reason, data FROM case_events "
                    "ORDER BY case_id, id"
                )
            ).all()
            events = [e for e in events if e.case_id in by_id]
            notes = [
                n for n in connection.execute(text("SELECT id, case_id, body FROM notes")).all() if n.case_id in by_id
            ]
            audit_rows = connection.execute(
                text("SELECT action, case_id, COUNT(*) AS n FROM audit_entries GROUP BY action, case_id")
            ).all()
    finally:
        engine.dispose()
    audit_counts = {(row.action, row.case_id): row.n for row in audit_rows}

    claimed = Counter((c.reference, c.kind, c.uid) for c in claims if c.kind != "note")
    stored: Counter = Counter()
    for event in (e for e in events if e.kind == "transition"):
        uids = UID_PATTERN.findall(event.reason or "")
        stored[(by_id[event.case_id], event.trigger, uids[0] if uids else None)] += 1
    for key, count in claimed.items():
        if stored[key] < count:
            lost += count - stored[key]
            problems.append(f"lost: {key} claimed {count}x, stored {stored[key]}x")
    for key, count in stored.items():
        if count > claimed[key]:
            phantom += count - claimed[key]
            problems.append(f"unclaimed: {key} stored {count}x, claimed {claimed[key]}x")

    claimed_notes = Counter((c.reference, c.uid) for c in claims if c.kind == "note")
    stored_notes = Counter((by_id[n.case_id], (UID_PATTERN.findall(n.body) or [None])[0]) for n in notes)
    for key, count in claimed_notes.items():
        if stored_notes[key] != count:
            lost += max(0, count - stored_notes[key])
            problems.append(f"note {key} claimed {count}x, stored {stored_notes[key]}x")
    for key, count in stored_notes.items():
        if count > claimed_notes[key]:
            phantom += count - claimed_notes[key]
            problems.append(f"unclaimed note {key} stored {count}x")

    for reference in references:
        case = cases[reference]
        mine = [e for e in events if e.case_id == case.id]
        transitions = [e for e in mine if e.kind == "transition"]
        state = next((e.to_state for e in mine if e.kind == "intake"), None)
        for event in transitions:
            if event.from_state != state:
                problems.append(f"{reference}: event {event.id} {event.trigger} from {event.from_state}, was {state}")
            state = event.to_state
        if state != case.status:
            problems.append(f"{reference}: status {case.status} but the timeline ends in {state}")
        if case.version != 1 + len(transitions):
            problems.append(f"{reference}: version {case.version} after {len(transitions)} transitions")
        note_events = [e for e in mine if e.kind == "note"]
        case_notes = [n for n in notes if n.case_id == case.id]
        if len(note_events) != len(case_notes):
            problems.append(f"{reference}: {len(case_notes)} notes but {len(note_events)} note events")
        for action, count in (("case.transition", len(transitions)), ("note.add", len(case_notes))):
            if audit_counts.get((action, case.id), 0) != count:
                problems.append(
                    f"{reference}: {audit_counts.get((action, case.id), 0)} {action} audit entries, {count} rows"
                )
    return lost, phantom, problems


def run_load(server: Server, *, seconds: float, sessions: int, log=print) -> tuple[list[str], LoadStats, float]:
    """Part 1: the hot cases, the sessions, the load; (hot references, what the clients saw, seconds)."""
    began = time.monotonic()
    reporter = Browser(server.base_url)
    references = [send_report(reporter, f"hot-{i}") for i in range(HOT_CASES)]
    stats = LoadStats()
    browsers = sign_in_all(server.base_url, sessions)
    log(f"  {sessions} sessions signed in after {time.monotonic() - began:.0f} s")
    log(f"  load on {HOT_CASES} hot cases for {seconds:.0f} s")
    started = time.monotonic()
    deadline = started + seconds
    threads = [
        threading.Thread(target=staff_session, args=(b, references, deadline, 1000 + i, stats), daemon=True)
        for i, b in enumerate(browsers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    if any(thread.is_alive() for thread in threads):
        stats.fail("a session did not finish")
    return references, stats, time.monotonic() - started


def load_result(database: str, sessions: int, seconds: float, stats: LoadStats, checked) -> LoadResult:
    lost, phantom, problems = checked
    server_errors = sum(n for status, n in stats.statuses.items() if status >= 500)
    problems = [*stats.unexpected[:20], *problems]
    if not stats.claims:
        problems.append("no request succeeded")
    if not stats.conflicts:
        problems.append("no conflict happened: the load did not contend")
    return LoadResult(
        database=database,
        seconds=seconds,
        sessions=sessions,
        requests=stats.requests,
        successes=len(stats.claims),
        conflicts=stats.conflicts,
        lost_updates=lost,
        phantom_updates=phantom,
        server_errors=server_errors,
        p50_ms=percentile(stats.latencies, 50) * 1000,
        p99_ms=percentile(stats.latencies, 99) * 1000,
        post_p99_ms=percentile(stats.post_latencies, 99) * 1000,
        problems=problems,
    )


# -- part 2: faults --------------------------------------------------------------------------------------


@dataclass
class FaultResult:
    database: str
    seconds: float
    kills: int
    sent: int
    interrupted: int
    cases: int
    stray_files: int
    problems: list[str]

    def summary(self) -> str:
        return (
            f"[{self.database}] faults {self.seconds:.0f} s: {self.kills} workers killed (SIGKILL), {self.sent} "
            f"reports received, {self.interrupted} interrupted, {self.cases} cases stored, all whole: "
            f"{'no' if self.problems else 'yes'}; {self.stray_files} uncommitted files left in storage"
        )


def check_cases(server: Server, database_url: str, receipts: list[str]) -> tuple[int, int, list[str]]:
    """Every case whole, no orphan rows, every file in place; (cases, stray files, problems)."""
    from sqlalchemy import create_engine, text

    problems: list[str] = []
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:

            def counts(sql: str) -> Counter:
                return Counter({row[0]: row[1] for row in connection.execute(text(sql)).all()})

            cases = {row.id: row.reference for row in connection.execute(text("SELECT id, reference FROM cases"))}
            per_case = {
                "parties": counts("SELECT case_id, COUNT(*) FROM parties GROUP BY case_id"),
                "platforms": counts("SELECT case_id, COUNT(*) FROM case_platforms GROUP BY case_id"),
                "behaviours": counts("SELECT case_id, COUNT(*) FROM case_behaviours GROUP BY case_id"),
                "keys": counts("SELECT case_id, COUNT(*) FROM reporter_keys GROUP BY case_id"),
                "intake events": counts(
                    "SELECT case_id, COUNT(*) FROM case_events WHERE kind = 'intake' GROUP BY case_id"
                ),
                "files": counts("SELECT case_id, COUNT(*) FROM evidence WHERE kind = 'file' GROUP BY case_id"),
                "links": counts("SELECT case_id, COUNT(*) FROM evidence WHERE kind = 'link' GROUP BY case_id"),
                "case.created": counts(
                    "SELECT case_id, COUNT(*) FROM audit_entries WHERE action = 'case.created' GROUP BY case_id"
                ),
                "evidence.uploaded": counts(
                    "SELECT case_id, COUNT(*) FROM audit_entries WHERE action = 'evidence.uploaded' GROUP BY case_id"
                ),
                "evidence.added": counts(
                    "SELECT case_id, COUNT(*) FROM audit_entries WHERE action = 'evidence.added' GROUP BY case_id"
                ),
            }
            files = connection.execute(
                text("SELECT id, case_id, storage_key, sha256 FROM evidence WHERE kind = 'file'")
            ).all()
    finally:
        engine.dispose()
    expected = {
        "parties": REPORT_SHAPE["parties"],
        "platforms": REPORT_SHAPE["platforms"],
        "behaviours": REPORT_SHAPE["behaviours"],
        "keys": 1,
        "intake events": 1,
        "files": REPORT_SHAPE["files"],
        "links": REPORT_SHAPE["links"],
        "case.created": 1,
        "evidence.uploaded": REPORT_SHAPE["files"],
        "evidence.added": REPORT_SHAPE["links"],
    }
    for case_id, reference in cases.items():
        for what, want in expected.items():
            if per_case[what][case_id] != want:
                problems.append(f"{reference}: {per_case[what][case_id]} {what}, expected {want}")
    for what, counter in per_case.items():
        orphans = set(counter) - set(cases) - {None}
        if orphans:
            problems.append(f"{what} of missing cases {sorted(orphans)[:5]}")
    known = set()
    for row in files:
        path = server.storage / "objects" / row.storage_key[:2] / row.storage_key
        known.add(row.storage_key)
        if not path.is_file():
            problems.append(f"evidence {row.id} of {cases.get(row.case_id)}: its file is missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != row.sha256:
            problems.append(f"evidence {row.id} of {cases.get(row.case_id)}: its file does not match its hash")
    stored = {p.name for p in (server.storage / "objects").glob("*/*")}
    stray = len(stored - known) + len(list((server.storage / "tmp").glob("*")))
    missing = set(receipts) - set(cases.values())
    if missing:
        problems.append(f"receipts without a case: {sorted(missing)[:5]}")
    return len(cases), stray, problems


def busy_worker(server: Server, rng: random.Random) -> int | None:
    """A worker that is working (running or in disk wait) if there is one, else any worker."""
    pids = server.worker_pids()
    busy = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state in ("R", "D"):
            busy.append(pid)
    return rng.choice(busy or pids) if pids else None


@dataclass
class FaultStats:
    receipts: list[str] = field(default_factory=list)
    interrupted: int = 0
    kills: int = 0
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def run_faults(server: Server, *, seconds: float, threads: int, log=print) -> tuple[FaultStats, float]:
    """Part 2: reports with evidence from a few threads while workers are killed with SIGKILL mid-stream."""
    stats = FaultStats()
    started = time.monotonic()
    deadline = started + seconds

    def reporter(index: int) -> None:
        browser = Browser(server.base_url)
        n = 0
        while time.monotonic() < deadline:
            n += 1
            try:
                reference = send_report(browser, f"fault-{index}-{n}-{secrets.token_hex(4)}")
                with stats.lock:
                    stats.receipts.append(reference)
            except (OSError, http.client.HTTPException):
                with stats.lock:
                    stats.interrupted += 1
                browser = Browser(server.base_url)  # a fresh form, as a reporter whose page broke would start
            except RuntimeError as error:
                with stats.lock:
                    stats.problems.append(str(error)[:300])

    log(f"  {threads} reporters sending reports for {seconds:.0f} s while workers are killed")
    reporters = [threading.Thread(target=reporter, args=(i,), daemon=True) for i in range(threads)]
    for thread in reporters:
        thread.start()
    rng = random.Random(7)
    time.sleep(min(1.0, seconds / 5))
    while time.monotonic() < deadline - 1:
        pid = busy_worker(server, rng)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            stats.kills += 1
        time.sleep(rng.uniform(0.8, 2.0))  # time for gunicorn to boot a new worker
    for thread in reporters:
        thread.join(timeout=120)
    return stats, time.monotonic() - started


def run_database(
    database: str,
    database_url: str,
    *,
    seconds: float,
    fault_seconds: float,
    sessions: int,
    workers: int,
    reporters: int,
    log=print,
) -> tuple[LoadResult, FaultResult]:
    """Both parts on one fresh database and one server, then every check."""
    began = time.monotonic()
    log(f"[{database}] gunicorn with {workers} sync workers")
    with running_server(database_url, workers) as server:
        log(f"  server up after {time.monotonic() - began:.0f} s")
        references, load_stats, load_seconds = run_load(server, seconds=seconds, sessions=sessions, log=log)
        fault_stats, elapsed = run_faults(server, seconds=fault_seconds, threads=reporters, log=log)
        server.stop()
        log_problems = [f"server log: {line}" for line in server.error_lines()[:20]]
        checked = check_timeline(database_url, references, load_stats.claims)
        cases, stray, case_problems = check_cases(server, database_url, fault_stats.receipts)
        verify = server.flask("audit", "verify", check=False)
    log(f"  checked after {time.monotonic() - began:.0f} s in all")
    load = load_result(database, sessions, load_seconds, load_stats, checked)
    load.problems += log_problems
    problems = [*fault_stats.problems, *case_problems]
    if verify.returncode != 0:
        problems.append(f"flask audit verify exited {verify.returncode}: {verify.stdout} {verify.stderr}")
    if not fault_stats.receipts:
        problems.append("no report was received")
    if not fault_stats.kills:
        problems.append("no worker was killed")
    faults = FaultResult(
        database, elapsed, fault_stats.kills, len(fault_stats.receipts), fault_stats.interrupted, cases, stray, problems
    )
    return load, faults


# -- the command -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long the load runs (default 60)")
    parser.add_argument("--fault-seconds", type=float, default=None, help="how long the faults run (default: half)")
    parser.add_argument("--sessions", type=int, default=50, help="concurrent staff sessions (default 50)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--reporters", type=int, default=4, help="threads sending reports in the fault run")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=default_pg_url(), help="a PostgreSQL URL on the cluster to use")
    args = parser.parse_args(argv)
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    if "postgresql" in databases and not args.pg_url:
        print("No PostgreSQL URL (--pg-url, CASEWORK_BENCH_PG_URL or CASEWORK_DATABASE_URL): SQLite only.")
        databases = [d for d in databases if d != "postgresql"] or databases
    failed = False
    for database in databases:
        with fresh_database(database, args.pg_url) as url:
            load, faults = run_database(
                database,
                url,
                seconds=args.seconds,
                fault_seconds=args.fault_seconds or max(5.0, args.seconds / 2),
                sessions=args.sessions,
                workers=args.workers,
                reporters=args.reporters,
            )
        for result in (load, faults):
            print(result.summary())
            for problem in result.problems:
                print(f"  PROBLEM {problem}")
        failed |= bool(load.problems or load.lost_updates or load.phantom_updates or load.server_errors)
        failed |= bool(faults.problems)
    print("FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
