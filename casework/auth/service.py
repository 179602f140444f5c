"""Signing in and out, and account administration. Plain functions: they flush, never commit."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from casework import audit
from casework.auth.passwords import check_password, hash_password, needs_rehash, password_problem
from casework.extensions import db
from casework.models import User, utcnow
from casework.vocabulary import OFFICES, ROLE_OFFICE, ROLES

# Verifying against this when the email is unknown keeps the timing of a miss and a hit alike.
_DUMMY_HASH: dict[str, str] = {}


class AccountError(ValueError):
    """An account change that cannot be made, with a message and the form field it concerns."""

    def __init__(self, message: str, field: str = "email") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SignIn:
    user: User | None
    locked: bool = False
    next_step: str | None = None  # "code" (second factor) or "enrol" (must set one up) after the password


def find_user_by_email(email: str) -> User | None:
    """The account with this email, compared case-insensitively."""
    return db.session.execute(select(User).where(func.lower(User.email) == email.strip().lower())).scalar_one_or_none()


def _dummy_hash() -> str:
    if "hash" not in _DUMMY_HASH:
        _DUMMY_HASH["hash"] = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH["hash"]


@dataclass(frozen=True)
class PasswordCheck:
    """A password checked, outside any transaction, against the hash stored when it was read."""

    password_hash: str | None  # the stored hash it was checked against; None when no active account has the email
    matches: bool


def stored_password_hash(email: str) -> str | None:
    """The password hash of the active account with this email, if any (the read before checking a password)."""
    user = find_user_by_email(email)
    return user.password_hash if user is not None and user.active else None


def check_password_outside_transaction(stored_hash: str | None, password: str) -> PasswordCheck:
    """Argon2 the password against a hash read earlier; the caller has ended the read transaction first."""
    matches = check_password(stored_hash or _dummy_hash(), password)
    return PasswordCheck(stored_hash, matches and stored_hash is not None)


def authenticate(email: str, password: str, checked: PasswordCheck | None = None) -> SignIn:
    """Check a sign-in attempt, counting failures and locking the account after too many.

    `checked` is the password already checked outside the transaction (see the login route); it counts
    only while the account's hash is still the one it was checked against.
    """
    user = find_user_by_email(email)
    now = utcnow()
    if user is None or not user.active:
        if checked is None:
            check_password(_dummy_hash(), password)
        audit.record("auth.login_failed", "anonymous", object_type="user", object_id=user.id if user else None)
        return SignIn(None)
    if user.locked_until and user.locked_until > now:
        audit.record("auth.login_refused_locked", "anonymous", object_type="user", object_id=user.id)
        return SignIn(None, locked=True)
    if checked is not None and checked.password_hash == user.password_hash:
        matches = checked.matches
    else:
        matches = check_password(user.password_hash, password)
    if not matches:
        user.failed_logins += 1
        audit.record(
            "auth.login_failed",
            "anonymous",
            object_type="user",
            object_id=user.id,
            details={"failures": user.failed_logins},
        )
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + current_app.config["LOGIN_LOCKOUT"]
            user.failed_logins = 0
            audit.record("auth.account_locked", "system", object_type="user", object_id=user.id)
        db.session.flush()
        return SignIn(None)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    next_step = None
    if user.second_factor_enabled:
        next_step = "code"
    elif user.role in current_app.config["MFA_REQUIRED_ROLES"]:
        next_step = "enrol"
    if next_step:
        # Failures are not forgiven yet: a wrong code after a right password still counts towards the lock.
        audit.record("auth.password_verified", user, object_type="user", object_id=user.id, details={"next": next_step})
        db.session.flush()
        return SignIn(user, next_step=next_step)
    complete_sign_in(user)
    return SignIn(user)


def complete_sign_in(user: User, second_factor: str | None = None) -> None:
    """Record a full sign-in (password, and the second factor where there is one)."""
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    details = {"second_factor": second_factor} if second_factor else None
    audit.record("auth.login", user, object_type="user", object_id=user.id, details=details)
    db.session.flush()


def confirm_identity(user: User, password: str) -> bool:
    """Re-authentication: check the password of a signed-in user; a wrong one counts towards the lock."""
    if check_password(user.password_hash, password):
        return True
    from casework.auth.mfa import record_failure

    record_failure(user, "auth.reauth_failed", purpose="reauth")
    return False


def end_all_sessions(user: User) -> None:
    """Every session cookie of this user stops working on its next request."""
    user.session_version += 1


def sign_out(user: User, *, reason: str = "logout") -> None:
    """Record the sign-out and end every session of the user, on every device."""
    end_all_sessions(user)
    audit.record("auth.logout", user, object_type="user", object_id=user.id, details={"reason": reason})
    db.session.flush()


def change_password(user: User, current: str, new: str) -> None:
    """A user changes their own password; other sessions end."""
    if not check_password(user.password_hash, current):
        raise AccountError("Your current password is not right.", field="current_password")
    _set_password(user, new)
    audit.record("account.password_changed", user, object_type="user", object_id=user.id)
    db.session.flush()


def _set_password(user: User, password: str) -> None:
    problem = password_problem(password, email=user.email)
    if problem:
        raise AccountError(problem, field="new_password")
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    end_all_sessions(user)


def _check_role_office(role: str, office: str | None) -> str | None:
    if role not in ROLES:
        raise AccountError("Choose a role from the list.", field="role")
    office = office or ROLE_OFFICE.get(role)
    if office is not None and office not in OFFICES:
        raise AccountError("Choose an office from the list.", field="office")
    expected = ROLE_OFFICE.get(role)
    if expected and office != expected:
        raise AccountError(f"A {ROLES[role].lower()} belongs to {OFFICES[expected]}.", field="office")
    return office


def create_user(
    actor: User | str,
    *,
    email: str,
    display_name: str,
    role: str,
    office: str | None = None,
    password: str | None = None,
) -> tuple[User, str | None]:
    """Create an account; returns it and the generated password when none was given."""
    email = email.strip().lower()
    if find_user_by_email(email):
        raise AccountError("An account with that email already exists.")
    office = _check_role_office(role, office)
    generated = None
    if password is None:
        generated = password = generate_password()
    problem = password_problem(password, email=email)
    if problem:
        raise AccountError(problem)
    user = User(
        email=email,
        display_name=display_name.strip(),
        role=role,
        office=office,
        password_hash=hash_password(password),
        password_changed_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    audit.record("account.created", actor, object_type="user", object_id=user.id, details={"role": role})
    return user, generated


def update_user(actor: User, user: User, *, display_name: str, role: str, office: str | None, active: bool) -> None:
    """Change an account's name, role, office or status; a role change or deactivation ends its sessions."""
    office = _check_role_office(role, office)
    if user.id == actor.id and (role != user.role or not active):
        raise AccountError("You cannot change your own role or deactivate yourself.", field="role")
    changed = [
        name
        for name, old, new in (
            ("display_name", user.display_name, display_name.strip()),
            ("role", user.role, role),
            ("office", user.office, office),
            ("active", user.active, active),
        )
        if old != new
    ]
    if not changed:
        return
    if {"role", "office", "active"} & set(changed):
        end_all_sessions(user)
    user.display_name, user.role, user.office, user.active = display_name.strip(), role, office, active
    audit.record(
        "account.updated",
        actor,
        object_type="user",
        object_id=user.id,
        details={"fields": changed, "role": role, "active": active},
    )
    db.session.flush()


def reset_password(actor: User, user: User) -> str:
    """An administrator resets a password; returns the new one-time password to hand over."""
    password = generate_password()
    _set_password(user, password)
    audit.record("account.password_reset", actor, object_type="user", object_id=user.id)
    db.session.flush()
    return password


def generate_password() -> str:
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


def lockout_remaining(user: User) -> timedelta | None:
    if user.locked_until and user.locked_until > utcnow():
        return user.locked_until - utcnow()
    return None
