"""Hostile input on every form and query parameter: random unicode, huge values, missing, repeated and
unexpected fields, numbers where text belongs and text where numbers belong. Whatever arrives, the
answer is never a 500.

To cover a new page, add a `Target` to TARGETS: the method, the URL (`{other}` is another user's id,
`{case}` a case reference, `{id}` a random number, which may be far out of range), the form fields
and query parameters it reads, and who is signed in (`None`: nobody; "pending": a password given,
the code not yet).
"""

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from casework.auth.session import REAUTH_KEY
from casework.extensions import limiter
from tests import factories
from tests.conftest import TEST_PASSWORD


@dataclass(frozen=True)
class Target:
    method: str
    url: str
    fields: tuple[str, ...] = ()
    role: str | None = None
    query: tuple[str, ...] = ()
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
    return {
        "admin": admin,
        "intake": make_user("intake"),
        "pending": factories.enrol_second_factor(make_user("investigator")),
        "other": make_user("conduct_officer"),
    }


def _client_for(app, db, cast, target):
    """A fresh browser for one example, signed in as the target wants."""
    limiter.reset()
    client = app.test_client()
    if target.role is None:
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
    url = target.url.format(other=cast["other"].id, id=data.draw(ID, label="id"))
    present = lambda name: data.draw(st.booleans(), label=f"{name} present")  # noqa: E731
    values = lambda name: data.draw(VALUES, label=name)  # noqa: E731
    extra = data.draw(st.lists(st.tuples(NAME, VALUES), max_size=2), label="extra fields")
    query = _form(target.query, present, values, [])
    form = _form(target.fields, present, values, extra)
    if target.method == "GET":
        response = client.get(url, query_string=query)
    else:
        response = client.post(url, query_string=query, data=form)
    assert response.status_code < 500, (str(target), response.status_code)


def test_every_route_with_a_form_or_parameters_is_covered(app):
    """A route of the auth area missing from TARGETS is a route nobody fuzzes."""
    covered = {target.url.split("{")[0].rstrip("/") for target in TARGETS}
    with app.test_request_context():
        routes = {
            rule.rule.split("<")[0].rstrip("/")
            for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("auth.") and rule.methods & {"POST"}
        }
    assert routes - covered == set()
