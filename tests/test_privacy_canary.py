"""Privacy canary: unique strings planted in every personal field of a report travel the main journeys
(report, staff work, referral, notes, replies, follow-up, auditor views, exports, hostile input) and must never
come out where they do not belong: the application log, an error page, a URL or an audit entry.

Request URLs double as the access log: a gunicorn access line holds the method and path (no query string, see
gunicorn.conf.py), status, size and duration, so checking every URL used covers it.
"""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
import zlib
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from casework.models import AuditEntry, Case, Evidence, Message, Note, Party
from tests import factories

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
URL_ATTRIBUTE = re.compile(r"""(?:href|src|action|formaction)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
ERROR_PAGE = re.compile(r'<p class="muted">Error \d{3}</p>')  # templates/errors/error.html
PDF_INFO = re.compile(rb"/(?:Title|Author|Subject|Keywords|Creator|Producer)\s*(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>)")
PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)


@dataclass
class Canaries:
    """One unique string per kind of personal data."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:12].upper())

    def __post_init__(self):
        t = self.tag
        digits = "".join(str(int(c, 16) % 10) for c in t[:7])
        self.values = {
            "narrative": f"CANARY-NARR-{t}",
            "reporter name": f"CANARY-NAME-{t}",
            "reporter email": f"canary-{t.lower()}@casework.example.edu",
            "reporter phone": f"+1 413 {digits[:3]} {digits[3:7]}",
            "respondent name": f"CANARY-RESPONDENT-{t}",
            "respondent handle": f"@canary_handle_{t.lower()}",
            "relationship": f"CANARY-REL-{t}",
            "witness name": f"CANARY-WITNESS-{t}",
            "platform other": f"CANARY-PLATFORM-{t}",
            "connection": f"CANARY-CONNECTION-{t}",
            "file name": f"CANARY-FILE-{t}",
            "jurisdiction note": f"CANARY-JURISDICTION-{t}",
            "referral reason": f"CANARY-REASON-{t}",
            "note": f"CANARY-NOTE-{t}",
            "staff message": f"CANARY-MSG-STAFF-{t}",
            "reporter message": f"CANARY-MSG-REPORTER-{t}",
            "closing summary": f"CANARY-CLOSING-{t}",
            "wrong password": f"CANARY-PASSWORD-{t}",
            "follow-up key": "",  # filled in once the report is sent
        }

    def found_in(self, text: str) -> list[str]:
        """The kinds of planted data that appear in `text` (case-insensitively: URLs may fold case)."""
        folded = text.casefold()
        return [kind for kind, value in self.values.items() if value and value.casefold() in folded]


class Recorder:
    """A test client that remembers every request URL, every Location header, every URL in a page,
    and every 4xx page."""

    def __init__(self, client, canaries: Canaries):
        self.client = client
        self.canaries = canaries
        self.urls: list[str] = []
        self.error_pages: list[tuple[str, int, str]] = []

    def request(self, method: str, url: str, data=None, **kwargs):
        response = self.client.open(url, method=method, data=data, **kwargs)
        self.urls.append(url)
        if "Location" in response.headers:
            self.urls.append(response.headers["Location"])
        if response.mimetype == "text/html":
            body = response.get_data(as_text=True)
            self.urls.extend(URL_ATTRIBUTE.findall(body))
            if 400 <= response.status_code < 500:
                self.error_pages.append((f"{method} {url}", response.status_code, body))
        return response

    def get(self, url: str, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url: str, data=None, **kwargs):
        return self.request("POST", url, data=data, **kwargs)


def sign_in(recorder: Recorder, user) -> None:
    """Sign in through the pages (with the code of the user's app when the role needs one)."""
    recorder.post("/logout")
    if not user.second_factor_enabled and user.role in recorder.client.application.config["MFA_REQUIRED_ROLES"]:
        factories.enrol_second_factor(user)
    response = recorder.post("/login", data={"email": user.email, "password": factories.TEST_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    if response.headers["Location"] == "/login/code":
        response = recorder.post("/login/code", data={"code": factories.totp_code(user)})
        assert response.status_code == 302


def action(recorder: Recorder, case: Case, trigger: str, **fields) -> None:
    data = {f"{trigger}-{name}": value for name, value in fields.items()}
    data[f"{trigger}-version"] = str(case.version)
    response = recorder.post(f"/cases/{case.reference}/actions/{trigger}", data=data)
    assert response.status_code == 302, (trigger, response.get_data(as_text=True)[:2000])


def pdf_metadata(data: bytes) -> str:
    """The document information (Title, Author, Subject, Keywords, Creator, Producer) of a PDF, decoded,
    wherever it is kept: in the file as written or inside a compressed object stream."""
    sources = [data]
    for stream in PDF_STREAM.finditer(data):
        try:
            sources.append(zlib.decompress(stream.group(1)))
        except zlib.error:
            continue
    values = []
    for source in sources:
        for match in PDF_INFO.finditer(source):
            raw = match.group(1)
            if raw.startswith(b"<"):
                text = bytes.fromhex(re.sub(rb"\s", b"", raw[1:-1]).decode())
            else:
                text = re.sub(rb"\\(.)", rb"\1", raw[1:-1])
            values.append(
                text[2:].decode("utf-16-be", "replace") if text.startswith(b"\xfe\xff") else text.decode("latin-1")
            )
    return "\n".join(values)


def pdf_urls_for(app, reference: str) -> list[str]:
    """The URLs of every PDF route of a case (endpoints named like ``cases.summary_pdf``); none yet is fine."""
    return sorted(
        rule.rule.replace("<reference>", reference)
        for rule in app.url_map.iter_rules()
        if "pdf" in rule.endpoint and rule.arguments == {"reference"} and "GET" in rule.methods
    )


@pytest.fixture
def canaries() -> Canaries:
    return Canaries()


def test_planted_personal_data_never_reaches_logs_error_pages_urls_or_the_audit_trail(
    app, client, db, make_user, caplog, canaries
):
    # SQLAlchemy's echo (statements with their parameters) is a database debugging switch, off in every
    # configuration; the root at DEBUG would turn it on, so it stays at WARNING. (This call first: each
    # call also sets the capturing handler's level.)
    caplog.set_level(logging.WARNING, logger="sqlalchemy")
    caplog.set_level(logging.DEBUG)  # the root logger: every application logger propagates to it
    c = canaries.values
    web = Recorder(client, canaries)
    reporter = Recorder(app.test_client(), canaries)

    # 1. The reporter sends a named report with a respondent, a witness and a file, then reads the receipt.
    report = {
        "identity": "named",
        "name": c["reporter name"],
        "email": c["reporter email"],
        "phone": c["reporter phone"],
        "affiliation": "student",
        "contact_preference": "email",
        "consent_share_identity": "y",
        "narrative": f"{c['narrative']} posts my photos with insults.",
        "parties-0-kind": "respondent",
        "parties-0-name": c["respondent name"],
        "parties-0-handle": c["respondent handle"],
        "parties-0-platform": "instagram",
        "parties-0-affiliation": "student",
        "parties-0-relationship": c["relationship"],
        "parties-1-kind": "witness",
        "parties-1-name": c["witness name"],
        "parties-2-kind": "respondent",
        "platforms": ["instagram", "other"],
        "platform_other": c["platform other"],
        "connected": "yes",
        "connection_details": c["connection"],
        "in_danger": "no",
    }
    # Hostile and mistaken input first: a bad email and a refused file re-render the form (and must not log it).
    response = reporter.post(
        "/report",
        data={**report, "email": "not an address", "files": (io.BytesIO(b"<html>x</html>"), "page.html")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    response = reporter.post(
        "/report",
        data={**report, "files": (io.BytesIO(PNG), f"{c['file name']}.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    receipt = reporter.get(response.headers["Location"]).get_data(as_text=True)
    reference = re.search(r'id="reference">([^<]+)<', receipt).group(1)
    c["follow-up key"] = re.search(r'id="follow-up-key">([^<]+)<', receipt).group(1)
    case = db.session.scalar(select(Case).where(Case.reference == reference))
    assert case.reporter_name == c["reporter name"]
    assert {p.name for p in db.session.scalars(select(Party).where(Party.case_id == case.id))} == {
        c["respondent name"],
        c["witness name"],
    }
    assert db.session.scalar(select(Evidence.file_name).where(Evidence.case_id == case.id)).startswith(c["file name"])

    # 2. Intake: a failed sign-in, the queues, the case, a refused triage, triage, referral, a note, a reply.
    intake = make_user("intake")
    web.post("/login", data={"email": intake.email, "password": c["wrong password"]})
    web.post("/login", data={"email": c["reporter email"], "password": c["wrong password"]})
    sign_in(web, intake)
    for queue in ("new", "unassigned", "all"):
        assert web.get(f"/cases/?queue={queue}").status_code == 200
    assert c["narrative"] in web.get(f"/cases/{reference}").get_data(as_text=True)
    refused = web.post(
        f"/cases/{reference}/actions/triage",
        data={"triage-jurisdiction_note": c["jurisdiction note"], "triage-risk_level": "", "triage-version": "1"},
    )
    assert refused.status_code == 400
    db.session.refresh(case)
    action(web, case, "triage", risk_level="medium", jurisdiction_note=c["jurisdiction note"])
    db.session.refresh(case)
    action(web, case, "refer_conduct", reason=c["referral reason"])
    assert (
        web.post(f"/cases/{reference}/notes", data={"note-body": c["note"], "note-visibility": "shared"}).status_code
        == 302
    )
    assert web.post(f"/cases/{reference}/messages", data={"message-body": c["staff message"]}).status_code == 302
    # Hostile input: an unknown action, unknown and impossible references, an empty note.
    assert web.post(f"/cases/{reference}/actions/no_such_action", data={"x": c["note"]}).status_code == 404
    assert web.get("/cases/OH-1999-99999").status_code == 404
    assert web.get("/cases/%00%27%22%3Cscript%3E").status_code == 404
    db.session.refresh(case)
    empty_note = web.post(f"/cases/{reference}/notes", data={"note-body": "", "note-visibility": "nowhere"})
    assert empty_note.status_code == 400

    # 3. The conduct officer acknowledges, notes, asks; the police liaison cannot see the case at all.
    police = make_user("police_liaison")
    sign_in(web, police)
    assert web.get(f"/cases/{reference}").status_code == 404
    assert web.post(f"/cases/{reference}/notes", data={"note-body": c["note"]}).status_code == 404
    officer = make_user("conduct_officer")
    sign_in(web, officer)
    assert web.get("/cases/?queue=awaiting_acknowledgement").status_code == 200
    db.session.refresh(case)
    action(web, case, "acknowledge")
    assert (
        web.post(f"/cases/{reference}/notes", data={"note-body": c["note"], "note-visibility": "office"}).status_code
        == 302
    )
    assert web.post(f"/cases/{reference}/messages", data={"message-body": c["staff message"]}).status_code == 302

    # 4. The reporter: a wrong key, then the portal, an answer.
    assert reporter.post("/follow-up", data={"reference": reference, "key": "WRONG-KEY-0000"}).status_code == 200
    assert reporter.post("/follow-up", data={"reference": reference, "key": c["follow-up key"]}).status_code == 302
    page = reporter.get("/follow-up/report").get_data(as_text=True)
    assert c["staff message"] in page
    response = reporter.post("/follow-up/report", data={"message": c["reporter message"]})
    assert response.status_code == 302
    assert c["reporter message"] in reporter.get("/follow-up/report").get_data(as_text=True)

    # 5. The officer reads the answer and closes the case.
    assert c["reporter message"] in web.get(f"/cases/{reference}").get_data(as_text=True)
    db.session.refresh(case)
    action(web, case, "close", disposition="resolved", closing_summary=c["closing summary"])
    assert reporter.get("/follow-up/report").status_code == 200
    reporter.post("/follow-up/leave")

    # 6. An administrator (who never reads content) and the auditor (who reads the trail, verifies, exports).
    admin = make_user("admin")
    sign_in(web, admin)
    assert web.get(f"/cases/{reference}").status_code == 403
    auditor = make_user("auditor")
    sign_in(web, auditor)
    assert web.post(f"/cases/{reference}/notes", data={"note-body": c["note"]}).status_code == 403
    for url in (
        "/cases/?queue=all",
        f"/cases/{reference}",
        "/audit/",
        f"/audit/?case={reference}",
        f"/audit/cases/{reference}",
        "/audit/verification",
    ):
        assert web.get(url).status_code == 200, url
    assert web.post("/audit/verification", data={"checkpoint": ""}).status_code == 200
    exports = []
    for export_format in ("csv", "jsonl"):
        response = web.get(f"/audit/export?format={export_format}")
        assert response.status_code == 200
        exports.append(response.get_data(as_text=True))
    assert "case.transition" in exports[0]

    # PDFs, where they exist (cases.summary_pdf and the like): their document information names no one.
    pdf_urls = pdf_urls_for(app, reference)
    pdf_metadata_text = ""
    for user in (intake, officer, auditor) if pdf_urls else ():
        sign_in(web, user)
        for url in pdf_urls:
            response = web.get(url)
            if response.status_code == 200 and response.mimetype == "application/pdf":
                pdf_metadata_text += pdf_metadata(response.get_data())

    # -- what must hold ---------------------------------------------------------------------------------
    log_text = caplog.text + "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {getattr(r, '__dict__', '')}" for r in caplog.records
    )
    assert canaries.found_in(log_text) == [], "personal data in the log"

    urls = "\n".join(web.urls + reporter.urls)
    assert canaries.found_in(urls) == [], "personal data in a URL"

    error_pages = [(request, status, body) for request, status, body in web.error_pages + reporter.error_pages
                   if ERROR_PAGE.search(body)]  # fmt: skip
    assert {status for _, status, _ in error_pages} >= {403, 404}
    for request, status, body in error_pages:
        assert canaries.found_in(body) == [], f"{request} ({status}) shows personal data"

    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    trail = "\n".join(
        json.dumps({column.key: getattr(entry, column.key) for column in AuditEntry.__table__.columns}, default=str)
        for entry in entries
    )
    assert f'"case_id": {case.id}' in trail
    assert canaries.found_in(trail) == [], "personal data in the audit trail"
    assert canaries.found_in("\n".join(exports)) == [], "personal data in an audit export"
    assert canaries.found_in(pdf_metadata_text) == [], "personal data in PDF metadata"

    # The canaries did reach where they belong, so the checks above looked at real data.
    assert db.session.scalar(select(Note.body).where(Note.case_id == case.id).limit(1)) == c["note"]
    bodies = set(db.session.scalars(select(Message.body).where(Message.case_id == case.id)))
    assert {c["staff message"], c["reporter message"]} <= bodies


def test_the_pdf_metadata_reader_finds_what_weasyprint_writes():
    import weasyprint  # slow to import: only here

    page = "<html><head><title>Case OH-2026-00042 (summary)</title><meta name=author content='Casework'></head>"
    pdf = weasyprint.HTML(string=page + "<body><p>CANARY-BODY</p></body></html>").write_pdf()
    metadata = pdf_metadata(pdf)
    assert "Case OH-2026-00042 (summary)" in metadata
    assert "Casework" in metadata
