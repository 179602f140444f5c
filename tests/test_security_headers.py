"""HTTP hardening: security headers, caching, cookies, CSRF on every POST, no inline script or style."""

import re
from pathlib import Path

import pytest

from casework import create_app
from casework.security import CONTENT_SECURITY_POLICY

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
INLINE = re.compile(
    r"""\sstyle\s*=|<style[\s>]|\son[a-z]+\s*=|javascript:|<script(?![^>]*\ssrc=)[^>]*>""",
    re.IGNORECASE,
)


def test_every_page_carries_the_security_headers(client):
    response = client.get("/login")
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "camera=()" in headers["Permissions-Policy"]
    assert headers["X-Frame-Options"] == "DENY"


def test_error_pages_carry_the_security_headers_too(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["Cache-Control"] == "no-store"


def test_staff_pages_and_forms_are_never_cached(client, login_as):
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    login_as("intake")
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"


def test_static_files_may_be_cached_but_are_still_nosniff(client):
    response = client.get("/static/css/casework.css")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


def test_no_hsts_outside_production(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


@pytest.fixture
def production_app(monkeypatch, tmp_path):
    for name in ("SECRET_KEY", "DATABASE_URL", "AUDIT_CHECKPOINT_KEY"):
        monkeypatch.setenv(f"CASEWORK_{name}", "set-for-this-test")
    return create_app(
        "production",
        {
            "SECRET_KEY": "production-test-secret-key",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'production.db'}",
        },
    )


def test_production_sends_hsts_and_a_secure_host_prefixed_session_cookie(production_app):
    client = production_app.test_client()
    response = client.get("/login", base_url="https://casework.example.edu")
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 1, cookies
    cookie = cookies[0]
    assert cookie.startswith("__Host-casework_session=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path", "samesite"} <= attributes
    assert "domain" not in attributes
    assert "Path=/;" in cookie + ";" and "SameSite=Lax" in cookie


def test_signing_in_sets_only_the_session_cookie_and_it_is_httponly_and_lax(app, client, make_user):
    from tests.conftest import TEST_PASSWORD

    user = make_user("intake")
    responses = [client.get("/login"), client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})]
    responses.append(client.get("/"))
    cookies = [cookie for response in responses for cookie in response.headers.getlist("Set-Cookie")]
    assert cookies
    for cookie in cookies:
        assert cookie.startswith(app.config["SESSION_COOKIE_NAME"] + "=")
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def _post_urls(app):
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "POST" not in rule.methods:
                continue
            url = rule.build({argument: 1 for argument in rule.arguments}, append_unknown=False)[1]
            yield rule.endpoint, url


FORMS_KEPT_ON_EXPIRY = {"intake.report"}


def test_every_post_route_refuses_a_request_without_a_csrf_token(app, client, login_as):
    login_as("admin")
    routes = sorted(set(_post_urls(app)))
    assert {"auth.login", "auth.logout"} <= {endpoint for endpoint, _ in routes}
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = {endpoint: client.post(url, data={"anything": "x"}) for endpoint, url in routes}
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    for endpoint, response in refused.items():
        if endpoint in FORMS_KEPT_ON_EXPIRY:
            # The public report form comes back with what was typed, never an error page (nothing is created).
            assert b"so the form expired" in response.data, endpoint
            continue
        assert response.status_code == 400, endpoint
        assert b"The form expired or was sent from elsewhere" in response.data, endpoint
    assert client.get("/").status_code == 200  # still signed in: nothing was done


def test_a_post_with_a_valid_csrf_token_is_accepted(app, client, make_user):
    from tests.conftest import TEST_PASSWORD

    user = make_user("intake")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 302


def test_no_template_has_inline_script_style_or_event_handlers():
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        if path.relative_to(TEMPLATES).parts[0] != "pdf"  # PDFs are rendered by WeasyPrint, not a browser
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if INLINE.search(line)
    ]
    assert offenders == [], "inline script or style is blocked by the CSP:\n" + "\n".join(offenders)


STAFF_PAGES = {
    "admin": ["/", "/admin/users", "/admin/users/new", "/account/password", "/account/two-factor"],
    "intake": ["/", "/account/password", "/account/two-factor"],
    "auditor": ["/"],
}


@pytest.mark.parametrize("role", sorted(STAFF_PAGES))
def test_rendered_staff_pages_have_no_inline_script_or_style(client, login_as, role):
    login_as(role)
    for url in STAFF_PAGES[role]:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert not INLINE.search(page), (url, INLINE.search(page))


def test_rendered_public_and_error_pages_have_no_inline_script_or_style(client):
    for url, status in (("/login", 200), ("/no-such-page", 404)):
        response = client.get(url)
        assert response.status_code == status
        assert not INLINE.search(response.get_data(as_text=True)), url


def test_sign_in_steps_and_confirmation_pages_have_no_inline_script_or_style(client, make_user, login_as):
    from tests.conftest import TEST_PASSWORD
    from tests.factories import enrol_second_factor

    pages = []
    admin = make_user("admin")
    client.post("/login", data={"email": admin.email, "password": TEST_PASSWORD})
    pages.append(client.get("/account/two-factor"))  # enrolment: the key, the otpauth link and the QR code
    assert b"otpauth://" in pages[-1].data
    client.post("/logout")
    enrolled = enrol_second_factor(make_user("intake"))
    client.post("/login", data={"email": enrolled.email, "password": TEST_PASSWORD})
    pages.append(client.get("/login/code"))
    login_as("investigator")
    with client.session_transaction() as session:
        session["reauth_at"] = 0
    pages.append(client.get("/account/confirm?next=/"))
    pages.append(client.post("/account/two-factor/start"))
    for response in pages:
        assert response.status_code in (200, 302)
        assert not INLINE.search(response.get_data(as_text=True)), response.request.path
