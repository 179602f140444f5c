"""Two-step sign-in for staff: enrolment, the code step, recovery codes, lock-out, reset, re-authentication."""

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from casework.auth.session import PENDING_KEY, REAUTH_KEY
from casework.models import AuditEntry, RecoveryCode, User
from tests.conftest import TEST_PASSWORD
from tests.factories import enrol_second_factor, totp_code


def _password(client, user, password=TEST_PASSWORD):
    return client.post("/login", data={"email": user.email, "password": password})


def _audit(db, action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()


def _enrol_through_the_page(client, db, user):
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    db.session.refresh(user)
    assert secret == user.totp_secret
    return client.post("/account/two-factor/confirm", data={"code": pyotp.TOTP(secret).now()})


def test_administrator_without_a_second_factor_must_set_one_up_before_anything_else(client, make_user, db):
    admin = make_user("admin")
    response = _password(client, admin)
    assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor"
    assert client.get("/").status_code == 302  # half signed in: no page but the set-up
    assert client.get("/admin/users").status_code == 302
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "otpauth://totp/" in page and 'src="data:image/svg+xml' in page
    done = _enrol_through_the_page(client, db, admin)
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", done.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/").status_code == 200
    db.session.refresh(admin)
    assert admin.second_factor_enabled
    assert _audit(db, "account.mfa_enabled")
    assert _audit(db, "auth.login")[-1].details == {"second_factor": "totp"}


def test_recovery_codes_are_stored_only_as_hashes(client, make_user, db):
    auditor = make_user("auditor")
    _password(client, auditor)
    page = _enrol_through_the_page(client, db, auditor).get_data(as_text=True)
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", page)
    stored = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == auditor.id)).all()
    assert len(stored) == 10
    assert not set(codes) & set(stored)
    assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in stored)


def test_a_wrong_enrolment_code_keeps_the_second_factor_off(client, make_user, db):
    admin = make_user("admin")
    _password(client, admin)
    response = client.post("/account/two-factor/confirm", data={"code": "000000"}, follow_redirects=True)
    assert b"That code is not right" in response.data
    db.session.refresh(admin)
    assert not admin.second_factor_enabled
    assert client.get("/").status_code == 302


def test_enrolled_staff_member_signs_in_with_password_then_code(client, make_user, db):
    user = enrol_second_factor(make_user("intake"))
    response = _password(client, user)
    assert response.status_code == 302 and response.headers["Location"] == "/login/code"
    assert client.get("/").status_code == 302  # not signed in between the two steps
    response = client.post("/login/code", data={"code": totp_code(user)})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert [e.action for e in _audit(db, "auth.password_verified")] == ["auth.password_verified"]


def test_the_code_page_keeps_where_the_user_was_going(client, make_user):
    user = enrol_second_factor(make_user("intake"))
    client.post("/login?next=/account/password", data={"email": user.email, "password": TEST_PASSWORD})
    response = client.post("/login/code", data={"code": totp_code(user)})
    assert response.headers["Location"] == "/account/password"


def test_a_code_works_only_once(client, app, make_user, db):
    user = enrol_second_factor(make_user("intake"))
    code = totp_code(user)
    _password(client, user)
    assert client.post("/login/code", data={"code": code}).status_code == 302
    other = app.test_client()
    _password(other, user)
    response = other.post("/login/code", data={"code": code})
    assert response.status_code == 200 and b"That code is not right" in response.data


def test_wrong_codes_count_towards_the_lock_out(client, make_user, db):
    user = enrol_second_factor(make_user("auditor"))
    _password(client, user)
    for _ in range(4):
        response = client.post("/login/code", data={"code": "123456"})
        assert response.status_code == 200 and b"That code is not right" in response.data
    response = client.post("/login/code", data={"code": "123456"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    db.session.refresh(user)
    assert user.locked_until is not None
    assert _audit(db, "auth.account_locked")
    # Locked: even the right password and the right code get nowhere now.
    assert b"Sign-in failed" in _password(client, user).data
    assert client.post("/login/code", data={"code": totp_code(user)}).headers["Location"] == "/login"


def test_a_right_password_does_not_forgive_earlier_wrong_codes(client, make_user, db):
    user = enrol_second_factor(make_user("intake"))
    for _ in range(5):
        _password(client, user)
        client.post("/login/code", data={"code": "123456"})
    db.session.refresh(user)
    assert user.locked_until is not None


def test_the_half_signed_in_state_expires(client, make_user):
    user = enrol_second_factor(make_user("intake"))
    _password(client, user)
    with client.session_transaction() as session:
        session[PENDING_KEY] = {**session[PENDING_KEY], "at": time.time() - 6 * 60}
    response = client.post("/login/code", data={"code": totp_code(user)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_the_code_page_without_a_password_step_sends_to_sign_in(client):
    assert client.get("/login/code").headers["Location"] == "/login"
    assert client.post("/login/code", data={"code": "123456"}).headers["Location"] == "/login"


def test_a_recovery_code_signs_in_once(client, app, make_user, db):
    from casework.auth import mfa

    user = enrol_second_factor(make_user("admin"))
    codes = mfa.issue_recovery_codes(user)
    db.session.flush()
    _password(client, user)
    response = client.post("/login/code", data={"code": codes[0].upper().replace("-", " ")})
    assert response.status_code == 302
    assert b"9 remain" in client.get("/").data
    other = app.test_client()
    _password(other, user)
    assert b"That code is not right" in other.post("/login/code", data={"code": codes[0]}).data
    assert _audit(db, "account.recovery_code_used")[-1].details == {"remaining": 9, "purpose": "login"}


def test_optional_roles_sign_in_with_a_password_and_may_turn_two_step_on(client, login_as, db):
    user = login_as("investigator")
    assert client.get("/").status_code == 200
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "Set up two-step sign-in" in page
    client.post("/account/two-factor/start")
    assert _enrol_through_the_page(client, db, user).status_code == 200
    client.post("/logout")
    assert _password(client, user).headers["Location"] == "/login/code"


@pytest.fixture
def intake_needs_two_factor(app):
    saved = app.config["MFA_REQUIRED_ROLES"]
    app.config["MFA_REQUIRED_ROLES"] = ("admin", "auditor", "intake")
    yield
    app.config["MFA_REQUIRED_ROLES"] = saved


def test_the_required_roles_are_configurable(client, make_user, intake_needs_two_factor):
    response = _password(client, make_user("intake"))
    assert response.headers["Location"] == "/account/two-factor"


def test_a_signed_in_user_whose_role_now_requires_it_is_sent_to_set_it_up(app, client, login_as):
    login_as("intake")
    saved = app.config["MFA_REQUIRED_ROLES"]
    app.config["MFA_REQUIRED_ROLES"] = ("admin", "auditor", "intake")
    try:
        home = client.get("/")
        setup = client.get("/account/two-factor")
    finally:
        app.config["MFA_REQUIRED_ROLES"] = saved
    assert home.status_code == 302 and home.headers["Location"] == "/account/two-factor"
    assert setup.status_code == 200


def test_a_required_role_cannot_turn_it_off(client, login_as, db):
    user = login_as("auditor")
    response = client.post("/account/two-factor/disable", follow_redirects=True)
    assert b"cannot be turned off" in response.data
    db.session.refresh(user)
    assert user.second_factor_enabled


def test_an_optional_role_may_turn_it_off(client, login_as, db):
    user = enrol_second_factor(login_as("conduct_officer"))
    response = client.post("/account/two-factor/disable", follow_redirects=True)
    assert b"off for your account" in response.data
    db.session.refresh(user)
    assert not user.second_factor_enabled and user.totp_secret is None
    assert _audit(db, "account.mfa_disabled")


def test_new_recovery_codes_replace_the_old_ones(client, login_as, db):
    from casework.auth import mfa

    user = login_as("admin")
    old = mfa.issue_recovery_codes(user)
    db.session.flush()
    page = client.post("/account/two-factor/recovery-codes").get_data(as_text=True)
    new = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", page)
    assert len(new) == 10 and not set(new) & set(old)
    db.session.refresh(user)
    assert mfa.verify_second_factor(user, old[0]) is None
    assert mfa.verify_second_factor(user, new[0]) == "recovery_code"


def test_administrator_resets_a_lost_second_factor(app, client, login_as, make_user, db):
    target = enrol_second_factor(make_user("auditor"))
    device = app.test_client()
    _password(device, target)
    device.post("/login/code", data={"code": totp_code(target)})
    assert device.get("/").status_code == 200
    admin = login_as("admin")
    response = client.post(f"/admin/users/{target.id}/reset-two-factor", follow_redirects=True)
    assert b"Two-step sign-in is reset" in response.data
    db.session.refresh(target)
    assert target.totp_secret is None and target.recovery_codes == []
    assert device.get("/").status_code == 302  # their sessions ended
    entry = _audit(db, "account.mfa_reset")[-1]
    assert entry.actor_id == admin.id and entry.object_id == str(target.id)
    assert _password(device, target).headers["Location"] == "/account/two-factor"


def test_only_administrators_reset_a_second_factor(client, login_as, make_user):
    target = enrol_second_factor(make_user("auditor"))
    login_as("intake")
    assert client.post(f"/admin/users/{target.id}/reset-two-factor").status_code == 403


def test_audit_entries_hold_no_secret_or_code(client, make_user, db):
    admin = make_user("admin")
    _password(client, admin)
    _enrol_through_the_page(client, db, admin)
    db.session.refresh(admin)
    text = str([(e.action, e.details, e.object_id) for e in db.session.scalars(select(AuditEntry))])
    assert admin.totp_secret not in text


# Re-authentication before account administration.


def _stale(client):
    with client.session_transaction() as session:
        session[REAUTH_KEY] = time.time() - 11 * 60


NEW_ACCOUNT = {"email": "kept@casework.example.edu", "display_name": "Kept Typing", "role": "intake", "office": ""}


def test_a_form_part_without_a_name_is_left_behind_when_asking_for_the_password_again(client, login_as, db):
    login_as("admin")
    _stale(client)
    body = (
        b"--b\r\nContent-Disposition: form-data\r\n\r\nnameless\r\n"
        b'--b\r\nContent-Disposition: form-data; name="display_name"\r\n\r\nKept Typing\r\n--b--\r\n'
    )
    response = client.post("/admin/users/new", data=body, content_type="multipart/form-data; boundary=b")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Confirm it is you" in page
    assert 'value="Kept Typing"' in page and "nameless" not in page


def test_account_changes_ask_for_the_password_and_code_again_and_keep_what_was_typed(client, login_as, db):
    admin = login_as("admin")
    _stale(client)
    response = client.post("/admin/users/new", data=NEW_ACCOUNT)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Confirm it is you" in page
    assert 'value="Kept Typing"' in page and 'value="kept@casework.example.edu"' in page
    assert db.session.scalar(select(User).where(User.email == NEW_ACCOUNT["email"])) is None
    confirmed = client.post(
        "/admin/users/new", data={**NEW_ACCOUNT, "reauth-password": TEST_PASSWORD, "reauth-code": totp_code(admin)}
    )
    assert confirmed.status_code == 200 and b"shown only once" in confirmed.data
    assert db.session.scalar(select(User).where(User.email == NEW_ACCOUNT["email"])) is not None
    assert _audit(db, "auth.reauthenticated")


def test_a_wrong_password_on_re_authentication_changes_nothing_and_counts(client, login_as, make_user, db):
    admin = login_as("admin")
    target = make_user("intake")
    _stale(client)
    response = client.post(
        f"/admin/users/{target.id}/reset-password",
        data={"reauth-password": "not-my-password", "reauth-code": totp_code(admin)},
    )
    assert response.status_code == 200 and b"That password is not right" in response.data
    db.session.refresh(admin)
    assert admin.failed_logins == 1
    assert _audit(db, "auth.reauth_failed")
    assert not _audit(db, "account.password_reset")


def test_a_wrong_code_on_re_authentication_is_refused(client, login_as, make_user, db):
    login_as("admin")
    target = make_user("intake")
    _stale(client)
    response = client.post(
        f"/admin/users/{target.id}/reset-password", data={"reauth-password": TEST_PASSWORD, "reauth-code": "000000"}
    )
    assert b"That code is not right" in response.data
    assert not _audit(db, "account.password_reset")


def test_repeated_wrong_re_authentication_locks_and_signs_out(client, login_as, make_user, db):
    login_as("admin")
    target = make_user("intake")
    _stale(client)
    for _ in range(5):
        response = client.post(f"/admin/users/{target.id}/reset-password", data={"reauth-password": "wrong-one-123"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_a_recent_sign_in_counts_as_re_authentication(client, login_as, make_user):
    login_as("admin")
    target = make_user("intake")
    assert b"shown only once" in client.post(f"/admin/users/{target.id}/reset-password").data


def test_the_confirmation_page_sends_back_where_the_user_was_going(client, login_as):
    admin = login_as("admin")
    _stale(client)
    page = client.get("/account/confirm?next=/admin/users")
    assert page.status_code == 200 and b"Your password" in page.data
    response = client.post(
        "/account/confirm?next=/admin/users",
        data={"reauth-password": TEST_PASSWORD, "reauth-code": totp_code(admin)},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"


def test_a_guarded_get_page_sends_to_the_confirmation_page(make_user, db):
    from flask import Blueprint

    from casework import create_app
    from casework.auth.decorators import reauth_required

    app = create_app("testing")
    probe = Blueprint("guarded_probe", __name__)
    probe.add_url_rule("/_probe/guarded", "page", reauth_required(lambda: "guarded content"))
    app.register_blueprint(probe)
    client = app.test_client()
    user = make_user("intake")
    assert _password(client, user).status_code == 302
    assert client.get("/_probe/guarded").data == b"guarded content"
    _stale(client)
    response = client.get("/_probe/guarded")
    assert response.status_code == 302 and response.headers["Location"] == "/account/confirm?next=/_probe/guarded"


@pytest.mark.parametrize("url", ["/admin/users/new"])
def test_opening_an_account_form_needs_no_re_authentication(client, login_as, url):
    login_as("admin")
    _stale(client)
    assert client.get(url).status_code == 200


def test_re_authentication_round_trip_works_with_csrf_protection_on(app, client, login_as, db):
    admin = login_as("admin")
    _stale(client)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        form_page = client.get("/admin/users/new").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form_page).group(1)
        confirm_page = client.post("/admin/users/new", data={**NEW_ACCOUNT, "csrf_token": token})
        page = confirm_page.get_data(as_text=True)
        assert "Confirm it is you" in page
        carried = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
        assert carried["display_name"] == "Kept Typing" and carried["csrf_token"]
        done = client.post(
            "/admin/users/new",
            data={**carried, "reauth-password": TEST_PASSWORD, "reauth-code": totp_code(admin)},
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert done.status_code == 200 and b"shown only once" in done.data
    assert db.session.scalar(select(User).where(User.email == NEW_ACCOUNT["email"])) is not None
