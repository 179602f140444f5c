"""Signing in and out: lock-out, throttling, idle timeout, and ending every session."""

import time

from sqlalchemy import select

from casework.models import AuditEntry, User
from tests.conftest import TEST_PASSWORD


def _login(client, email, password=TEST_PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def _actions(db):
    return [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]


def test_login_page_is_served(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Sign in" in response.data


def test_staff_member_signs_in_and_sees_home(client, make_user, db):
    user = make_user("investigator", display_name="Ivy Investigator")
    response = _login(client, user.email)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Welcome, Ivy Investigator" in page
    assert "auth.login" in _actions(db)


def test_home_requires_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_nul_byte_in_the_sign_in_email_is_dropped_not_an_error(client, make_user, db):
    user = make_user()
    assert _login(client, user.email + "\x00").status_code == 302  # signed in as the email without it


def test_wrong_password_is_refused_with_a_generic_message(client, make_user, db):
    user = make_user()
    response = _login(client, user.email, "wrong-password-123")
    assert response.status_code == 200
    assert b"Sign-in failed" in response.data
    assert "auth.login_failed" in _actions(db)


def test_unknown_email_gets_the_same_message_as_a_wrong_password(client, make_user):
    user = make_user()
    unknown = _login(client, "nobody@casework.example.edu", "wrong-password-123").get_data(as_text=True)
    wrong = _login(client, user.email, "wrong-password-123").get_data(as_text=True)
    assert "Sign-in failed" in unknown and "Sign-in failed" in wrong
    assert unknown.count("Sign-in failed") == wrong.count("Sign-in failed")


def test_account_locks_after_five_failures_even_for_the_right_password(client, make_user, db):
    user = make_user()
    for _ in range(5):
        _login(client, user.email, "wrong-password-123")
    db.session.refresh(user)
    assert user.locked_until is not None
    response = _login(client, user.email)
    assert response.status_code == 200 and b"Sign-in failed" in response.data
    assert "auth.account_locked" in _actions(db)
    assert "auth.login_refused_locked" in _actions(db)


def test_locked_account_message_reveals_nothing_about_the_email(client, make_user):
    user = make_user()
    for _ in range(5):
        _login(client, user.email, "wrong-password-123")
    locked = _login(client, user.email).get_data(as_text=True)
    unknown = _login(client, "nobody@casework.example.edu").get_data(as_text=True)
    assert locked.replace(user.email, "EMAIL") == unknown.replace("nobody@casework.example.edu", "EMAIL")


def test_lock_expires_after_fifteen_minutes(client, make_user, db):
    from datetime import timedelta

    from casework.models import utcnow

    user = make_user()
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.flush()
    assert _login(client, user.email).status_code == 302


def test_sign_in_attempts_are_throttled_per_ip(app, client, make_user):
    user = make_user()
    limit = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    statuses = [_login(client, f"x{i}@casework.example.edu", "wrong-password-123").status_code for i in range(limit)]
    assert 429 not in statuses
    response = _login(client, user.email)
    assert response.status_code == 429
    assert b"Too many attempts" in response.data


def test_idle_session_ends_after_thirty_minutes(client, login_as):
    login_as("intake")
    with client.session_transaction() as session:
        session["seen"] = time.time() - 31 * 60
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    follow = client.get("/login")
    assert b"inactivity" in follow.data
    assert client.get("/").status_code == 302


def test_active_session_within_idle_window_continues(client, login_as):
    login_as("intake")
    with client.session_transaction() as session:
        session["seen"] = time.time() - 29 * 60
    assert client.get("/").status_code == 200


def test_the_idle_clock_moves_on_once_a_minute_without_resending_the_cookie_on_every_page(app, client, login_as):
    login_as("intake")
    client.get("/")  # the first page also stores the session's form token
    quiet = client.get("/")
    assert quiet.status_code == 200
    assert "Set-Cookie" not in quiet.headers
    with client.session_transaction() as session:
        session["seen"] = stale = time.time() - 25 * 60
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        assert session["seen"] > stale + 24 * 60


def test_old_session_cookie_stops_working_after_logout(app, client, login_as, db):
    login_as("intake")
    stolen = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    assert client.post("/logout").status_code == 302
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    response = other.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_logout_ends_sessions_on_every_device(app, client, make_user, db):
    user = make_user("investigator")
    laptop, phone = app.test_client(), app.test_client()
    for device in (laptop, phone):
        assert _login(device, user.email).status_code == 302
        assert device.get("/").status_code == 200
    from casework.auth.service import sign_out

    sign_out(db.session.get(User, user.id))
    db.session.commit()
    assert laptop.get("/").status_code == 302
    assert phone.get("/").status_code == 302


def test_role_change_ends_the_users_sessions(app, client, make_user, db):
    from casework.auth.service import update_user

    admin, user = make_user("admin"), make_user("investigator")
    device = app.test_client()
    _login(device, user.email)
    assert device.get("/").status_code == 200
    update_user(admin, user, display_name=user.display_name, role="intake", office="eoa", active=True)
    db.session.commit()
    assert device.get("/").status_code == 302


def test_deactivated_user_is_signed_out_and_cannot_sign_in(app, make_user, db):
    from casework.auth.service import update_user

    admin, user = make_user("admin"), make_user("intake")
    device = app.test_client()
    _login(device, user.email)
    update_user(admin, user, display_name=user.display_name, role="intake", office="eoa", active=False)
    db.session.commit()
    assert device.get("/").status_code == 302
    assert _login(device, user.email).status_code == 200


def test_password_change_requires_current_password_and_a_strong_new_one(client, login_as, db):
    user = login_as("intake")
    page = client.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "new_password": "password1234", "confirm": "password1234"},
    )
    assert b"too common" in page.data
    page = client.post(
        "/account/password",
        data={
            "current_password": "not-my-password",
            "new_password": "a-much-better-phrase-42",
            "confirm": "a-much-better-phrase-42",
        },
    )
    assert b"current password is not right" in page.data
    done = client.post(
        "/account/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": "a-much-better-phrase-42",
            "confirm": "a-much-better-phrase-42",
        },
    )
    assert done.status_code == 302
    assert client.get("/").status_code == 302
    assert _login(client, user.email, "a-much-better-phrase-42").status_code == 302


def test_no_remember_me_cookie_is_set(app, client, make_user):
    user = make_user()
    response = _login(client, user.email)
    assert "remember_token" not in response.headers.get("Set-Cookie", "")


def test_open_redirect_after_login_is_refused(client, make_user):
    user = make_user()
    response = client.post("/login?next=//evil.example/x", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.headers["Location"] == "/"


def test_logout_needs_a_csrf_token(app, client, login_as):
    login_as("intake")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/logout")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert client.get("/").status_code == 200


def test_redirects_after_login_that_a_browser_would_read_as_another_site_are_refused(client, make_user):
    user = make_user()
    for target in ("/\\evil.example/x", "/\t/evil.example", "/%0A/x\n/evil.example", "https://evil.example/"):
        response = client.post(
            "/login", query_string={"next": target}, data={"email": user.email, "password": TEST_PASSWORD}
        )
        assert response.headers["Location"] == "/", target
        client.post("/logout")


def test_signing_in_checks_the_password_outside_any_database_transaction(client, db, make_user, monkeypatch):
    """On SQLite every transaction holds the write lock: argon2 inside one made sign-ins under load fail (locked)."""
    from casework.auth import service

    user = make_user("investigator")
    in_transaction = []
    real_check = service.check_password

    def spy(stored_hash, password):
        in_transaction.append(db.session().in_transaction())
        return real_check(stored_hash, password)

    monkeypatch.setattr(service, "check_password", spy)
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert in_transaction == [False]
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login")).all()


def test_a_password_changed_between_the_check_and_the_sign_in_is_checked_again(client, db, make_user, monkeypatch):
    from casework.auth import service
    from casework.auth.passwords import hash_password

    user = make_user("investigator")
    real_check = service.check_password_outside_transaction

    def check_then_change(stored_hash, password):
        checked = real_check(stored_hash, password)
        user.password_hash = hash_password("a-brand-new-password-2026")  # changed by another request meanwhile
        db.session.flush()
        return checked

    monkeypatch.setattr(service, "check_password_outside_transaction", check_then_change)
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert user.failed_logins == 1
