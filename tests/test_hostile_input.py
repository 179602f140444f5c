"""Hostile input on every form and query parameter: random unicode, huge values, missing, repeated and
unexpected fields, numbers where text belongs and text where numbers belong. Whatever arrives, the
answer is never a 500.

To cover a new page, add a `Target` to TARGETS: the method, the URL (`{other}` is another user's id,
`{case}` the reference of a case the signed-in user can see, `{id}` a random number, which may be far out
of range), the form fields, file fields and query parameters it reads, and who is signed in (`None`:
nobody; "pending": a password given, the code not yet; "reporter": a reporter in the follow-up portal).
A field whose name ends in "version" sometimes carries the case's real version, so that hostile text
also reaches the code behind the optimistic-locking check.
"""

import fnmatch
import io
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.test import encode_multipart

from casework import storage
from casework.auth.session import REAUTH_KEY
from casework.extensions import limiter
from casework.intake import keys
from tests import factories
from tests.conftest import TEST_PASSWORD


@dataclass(frozen=True)
class Target:
    method: str
    url: str
    fields: tuple[str, ...] = ()
    role: str | None = None
    query: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    stale_reauth: bool = False  # the signed-in user's re-authentication has run out

    def __str__(self) -> str:
        return f"{self.method} {self.url} as {self.role or 'anonymous'}{' (stale)' if self.stale_reauth else ''}"


ACCOUNT_FIELDS = ("email", "display_name", "role", "office", "active")
REAUTH_FIELDS = ("reauth-password", "reauth-code")

TARGETS = [
    Target("GET", "/login", query=("next",)),
    Target("POST", "/login", ("email", "password"), query=("next",)),
    Target("POST", "/login/code", ("code",), role="pending"),
    Target("GET", "/login/code", role="pending"),
    Target("POST", "/logout", role="intake"),
    Target("GET", "/", role="intake", query=("page", "state")),
    Target("POST", "/account/password", ("current_password", "new_password", "confirm"), role="intake"),
    Target("GET", "/account/two-factor", role="intake"),
    Target("POST", "/account/two-factor/start", role="intake"),
    Target("POST", "/account/two-factor/confirm", ("code",), role="intake"),
    Target("POST", "/account/two-factor/disable", REAUTH_FIELDS, role="intake", stale_reauth=True),
    Target("POST", "/account/two-factor/recovery-codes", REAUTH_FIELDS, role="admin"),
    Target("GET", "/account/confirm", role="admin", query=("next",)),
    Target("POST", "/account/confirm", REAUTH_FIELDS, role="admin", query=("next",), stale_reauth=True),
    Target("GET", "/admin/users", role="admin"),
    Target("POST", "/admin/users/new", ACCOUNT_FIELDS, role="admin"),
    Target("POST", "/admin/users/new", ACCOUNT_FIELDS + REAUTH_FIELDS, role="admin", stale_reauth=True),
    Target("GET", "/admin/users/{id}", role="admin"),
    Target("POST", "/admin/users/{other}", ACCOUNT_FIELDS, role="admin"),
    Target("POST", "/admin/users/{id}", ACCOUNT_FIELDS, role="admin"),
    Target("POST", "/admin/users/{other}/reset-password", REAUTH_FIELDS, role="admin", stale_reauth=True),
    Target("POST", "/admin/users/{other}/reset-two-factor", role="admin"),
]


def _workflow_fields() -> dict[str, tuple[str, ...]]:
    """Each trigger of the workflow and the form fields it reads (prefixed by the trigger, with the version)."""
    definition = tomllib.loads((Path(__file__).parents[1] / "workflows" / "online_harassment.toml").read_text())
    fields: dict[str, tuple[str, ...]] = {}
    for transition in definition["transitions"]:
        trigger = transition["trigger"]
        names = [f"{trigger}-{f['name']}" for f in transition.get("fields", [])]
        fields[trigger] = tuple(dict.fromkeys([*fields.get(trigger, ()), *names, f"{trigger}-version"]))
    return fields


# -- case work: queues, the case page, actions, assignment, notes, the reporter thread -------------------
TARGETS += [
    Target("GET", "/cases/", role="intake", query=("queue", "after")),
    Target("GET", "/cases/", role="auditor", query=("queue", "after")),
    Target("POST", "/cases/all", ("q", "state", "assignee", "created_from", "sort", "per_page"), role="intake"),
    Target("GET", "/cases/all", role="auditor", query=("q", "search", "state", "created_to", "after")),
    Target("GET", "/cases/{case}", role="intake", query=("tab",)),
    Target("GET", "/cases/{case}/evidence/{id}", role="intake"),
    *(
        Target("POST", f"/cases/{{case}}/actions/{trigger}", names, role="intake")
        for trigger, names in _workflow_fields().items()
    ),
    Target("POST", "/cases/{case}/actions/acknowledge", ("acknowledge-version",), role="conduct_officer"),
    Target("POST", "/cases/{case}/assign", ("assignee", "version"), role="intake"),
    Target("POST", "/cases/{case}/notes", ("note-body", "note-visibility"), role="intake"),
    Target("POST", "/cases/{case}/notes", ("note-body", "note-visibility"), role="auditor"),
    Target("POST", "/cases/{case}/messages", ("message-body",), role="intake"),
]

# -- case access: the lookup, recusals, named users, restriction --------------------------------------------
TARGETS += [
    Target("GET", "/cases/access", role="intake", query=("reference",)),
    Target("GET", "/cases/access", role="admin", query=("reference",)),
    Target("GET", "/cases/{case}/access", role="intake"),
    Target("POST", "/cases/{case}/access/recusals", ("user_id", "reason"), role="intake"),
    Target("POST", "/cases/{case}/access/recusals/{id}/lift", role="intake"),
    Target("POST", "/cases/{case}/access/recusals/{other}/lift", role="admin"),
    Target("POST", "/cases/{case}/access/restricted", ("restricted",), role="intake"),
    Target("POST", "/cases/{case}/access/grants", ("user_id",), role="intake"),
    Target("POST", "/cases/{case}/access/grants/{id}/revoke", role="admin"),
    Target("POST", "/cases/{case}/access/grants/{other}/revoke", role="intake"),
]

# -- public intake and staff-recorded reports ------------------------------------------------------------
PARTY_FIELDS = ("kind", "name", "handle", "platform", "affiliation", "relationship")
REPORT_FIELDS = (
    "staging_token",
    "identity",
    "name",
    "email",
    "phone",
    "affiliation",
    "contact_preference",
    "consent_share_identity",
    "narrative",
    *(f"parties-{n}-{name}" for n in (0, 1, 29, 30, 999) for name in PARTY_FIELDS),
    "parties-x-name",
    "add_party",
    "platforms",
    "platform_other",
    "began_on",
    "began_approximate",
    "ongoing",
    "connected",
    "connection_details",
    "behaviours",
    "behaviour_other",
    "links",
    "files",  # as text, where a file belongs
    "in_danger",
    "website",
    "remove_file",
)
PORTAL_FIELDS = ("staging_token", "message", "links", "files", "remove_file")
TARGETS += [
    Target("GET", "/report"),
    Target("POST", "/report", REPORT_FIELDS, files=("files",)),
    Target("POST", "/report", REPORT_FIELDS, role="intake"),
    Target("GET", "/report/received"),
    Target("POST", "/staff/report", (*REPORT_FIELDS, "channel"), role="intake", files=("files",)),
    Target("GET", "/follow-up"),
    Target("POST", "/follow-up", ("reference", "key")),
    Target("GET", "/follow-up/report", role="reporter"),
    Target("POST", "/follow-up/report", PORTAL_FIELDS, role="reporter", files=("files",)),
    Target("POST", "/follow-up/report", PORTAL_FIELDS),
    Target("POST", "/follow-up/leave", role="reporter"),
]

# -- the auditor's workspace: trail filters, a case's history, verification, exports ----------------------
TRAIL_FILTERS = ("case", "actor", "action", "date_from", "date_to")
TARGETS += [
    Target("GET", "/audit/", role="auditor", query=(*TRAIL_FILTERS, "before", "after")),
    Target("GET", "/audit/cases/{case}", role="auditor"),
    Target("POST", "/audit/verification", ("checkpoint",), role="auditor"),
    Target("GET", "/audit/export", role="auditor", query=(*TRAIL_FILTERS, "format")),
]

TRICKY = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "1e309",
        "NaN",
        "99999999999999999999999",
        "true",
        "[]",
        "{}",
        "null",
        "None",
        "admin",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "../../etc/passwd",
        "//evil.example/",
        "javascript:alert(1)",
        "\x00",
        "\u202e\u0645\u0631\u062d\u0628\u0627",
        "🙂" * 50,
        "a@b",
        "x@casework.example.edu",
        "0001-01-01",
        "9999-12-31",
        "2026-02-30",
        "1899-12-31",
        "0001-01-01T00:00:00_0",
        "9999-12-31T23:59:59.999999_999999999",
        "2026-11-21T10:00:00+14:00_1",
        "#99999999999",
        "#0",
        "OH-2026-00001",
        "oh-9999-99999 ",
        "case.",
        "auth.*",
    ]
)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
HUGE = st.builds(
    lambda ch, n: ch * n, st.sampled_from(["a", "é", "🙂", "\n", "9"]), st.sampled_from([1_000, 5_000, 60_000])
)
VALUE = st.one_of(TEXT, TRICKY, HUGE)
VALUES = st.lists(VALUE, min_size=1, max_size=3)  # a repeated field sends several values
NAME = st.one_of(TEXT.filter(bool), TRICKY.filter(bool))
ID = st.one_of(st.integers(min_value=0, max_value=2**70), st.sampled_from([0, 1, 2**31 - 1, 2**31, 2**63]))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
UPLOAD = st.tuples(
    st.one_of(st.binary(max_size=300), st.sampled_from([PNG, b"%PDF-1.7\n%%EOF\n", b"<html><script>", b""])),
    st.one_of(TEXT, TRICKY, st.sampled_from(["shot.png", "../../etc/passwd", "a" * 300 + ".pdf", ".png", "x.exe"])),
)


def _form(fields, draw_present, draw_values, extra):
    data = MultiDict()
    for name in fields:
        if draw_present(name):
            for value in draw_values(name):
                data.add(name, value)
    for name, values in extra:
        for value in values:
            data.add(name, value)
    return data


@pytest.fixture
def cast(db, make_user):
    """The people a hostile request may act as or on."""
    admin = factories.enrol_second_factor(make_user("admin"))
    # A case in Conduct's hands (so a conduct officer sees it too), with a student respondent, a file, a note,
    # a message from the reporter and the key the reporter opens it with.
    case = factories.CaseFactory(status="referred_conduct", office="conduct")
    factories.ReferralFactory(case_id=case.id, office="conduct")
    factories.PartyFactory(case=case, affiliation="student")
    factories.NoteFactory(case_id=case.id, office="conduct", visibility="shared")
    factories.MessageFactory(case_id=case.id)
    stored = storage.save(io.BytesIO(PNG), "screenshot.png")
    factories.EvidenceFactory(
        case_id=case.id, kind="file", url=None, file_name="screenshot.png", media_type=stored.media_type,
        size=stored.size, sha256=stored.sha256, storage_key=stored.key,
    )  # fmt: skip
    key = keys.generate_key()
    factories.ReporterKeyFactory(case_id=case.id, key_hash=keys.hash_key(key))
    return {
        "admin": admin,
        "intake": make_user("intake"),
        "pending": factories.enrol_second_factor(make_user("investigator")),
        "other": make_user("conduct_officer"),
        "conduct_officer": make_user("conduct_officer"),
        "auditor": factories.enrol_second_factor(make_user("auditor")),
        "case": case,
        "key": key,
    }


def _client_for(app, db, cast, target):
    """A fresh browser for one example, signed in as the target wants."""
    limiter.reset()
    client = app.test_client()
    if target.role is None:
        return client
    if target.role == "reporter":
        response = client.post("/follow-up", data={"reference": cast["case"].reference, "key": cast["key"]})
        assert response.status_code == 302
        return client
    user = cast[target.role]
    user.failed_logins, user.locked_until, user.active = 0, None, True
    db.session.flush()
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    if target.role != "pending" and response.headers["Location"] == "/login/code":
        assert client.post("/login/code", data={"code": factories.totp_code(user)}).status_code == 302
    if target.stale_reauth:
        with client.session_transaction() as session:
            session[REAUTH_KEY] = 0
    return client


@pytest.mark.parametrize("target", TARGETS, ids=str)
@settings(
    max_examples=8,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_hostile_input_never_causes_a_server_error(app, db, cast, target, data):
    client = _client_for(app, db, cast, target)
    case = cast["case"]
    url = target.url.format(other=cast["other"].id, id=data.draw(ID, label="id"), case=case.reference)
    present = lambda name: data.draw(st.booleans(), label=f"{name} present")  # noqa: E731

    def values(name):
        if name.endswith("version"):
            return data.draw(st.one_of(st.just([str(case.version)]), VALUES), label=name)
        return data.draw(VALUES, label=name)

    extra = data.draw(st.lists(st.tuples(NAME, VALUES), max_size=2), label="extra fields")
    query = _form(target.query, present, values, [])
    form = _form(target.fields, present, values, extra)
    for name in target.files:
        for content, filename in data.draw(st.lists(UPLOAD, max_size=2), label=f"{name} uploads"):
            form.add(name, (io.BytesIO(content), filename))
    if target.method == "GET":
        response = client.get(url, query_string=query)
    elif target.files:
        # Encoded here in memory: the test client would spool a large body to a temporary file it never closes.
        boundary, body = encode_multipart(form)
        response = client.post(
            url, query_string=query, data=body, content_type=f"multipart/form-data; boundary={boundary}"
        )
    else:
        response = client.post(url, query_string=query, data=form)
    response.close()  # a download or an export streams: close it, as a browser would
    assert response.status_code < 500, (str(target), response.status_code)


def test_every_route_that_takes_a_form_is_covered(app):
    """A POST route missing from TARGETS is a form nobody fuzzes."""
    posted = [re.sub(r"\{[^}]+\}", "*", target.url) for target in TARGETS if target.method == "POST"]
    missing = sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods
        and not any(fnmatch.fnmatchcase(url, re.sub(r"<[^>]+>", "*", rule.rule)) for url in posted)
    )
    assert missing == []


def test_every_trigger_of_the_workflow_is_covered():
    fired = {target.url.rsplit("/", 1)[1] for target in TARGETS if "/actions/" in target.url}
    assert set(_workflow_fields()) <= fired


def test_a_nul_byte_is_dropped_from_what_staff_type_and_search_for(client, login_as, db):
    """PostgreSQL refuses a NUL byte in text, even as a query parameter: it never reaches the database."""
    from casework.models import Note

    case = factories.CaseFactory(status="referred_conduct", office="conduct")
    factories.ReferralFactory(case_id=case.id, office="conduct")
    login_as("conduct_officer")
    saved = client.post(
        f"/cases/{case.reference}/notes", data={"note-body": "Hearing\x00 moved", "note-visibility": "office"}
    )
    assert saved.status_code == 302
    assert db.session.scalars(db.select(Note.body).where(Note.case_id == case.id)).one() == "Hearing moved"
    assert client.get("/cases/all?q=hearing%00&state=open%00", follow_redirects=True).status_code == 200
    searched = client.post("/cases/all", data={"q": "hearing\x00", "state": "open"}, follow_redirects=True)
    assert searched.status_code == 200
