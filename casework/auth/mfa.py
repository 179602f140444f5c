"""The second factor for staff: TOTP (RFC 6238) with one-time recovery codes.

Plain functions that flush, never commit. A wrong code counts towards the same lock-out as a
wrong password, and every accepted code works once (the last accepted time step is kept).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from flask import current_app

from casework import audit
from casework.auth.service import end_all_sessions
from casework.extensions import db
from casework.models import RecoveryCode, User, utcnow

RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
TOTP_INTERVAL = 30


class SecondFactorError(ValueError):
    """A second-factor change that cannot be made, with a message for the user."""


def required_for(user: User) -> bool:
    """Whether this user's role must use a second factor."""
    return user.role in current_app.config["MFA_REQUIRED_ROLES"]


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User) -> str:
    """The otpauth:// URI an authenticator app reads (from text or the QR code)."""
    issuer = f"{current_app.config['MFA_ISSUER']} ({current_app.config['INSTITUTION_NAME']})"
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """The otpauth URI as an SVG QR code in a data: URI (allowed by the CSP's img-src)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def grouped_secret(secret: str) -> str:
    """The secret in groups of four, easier to type into an app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _normalize(code: str) -> str:
    return "".join(ch for ch in (code or "") if not ch.isspace() and ch != "-").lower()


def _hash_recovery_code(code: str) -> str:
    return hashlib.sha256(_normalize(code).encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _totp_step(user: User, code: str, now: float | None = None) -> int | None:
    """The time step (now, one before or one after) whose code this is, if not used before."""
    digits = _normalize(code)
    if len(digits) != 6 or not digits.isascii() or not digits.isdigit() or not user.totp_secret:
        return None
    totp = pyotp.TOTP(user.totp_secret, interval=TOTP_INTERVAL)
    current = int((time.time() if now is None else now) // TOTP_INTERVAL)
    for step in (current - 1, current, current + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def _use_recovery_code(user: User, code: str) -> bool:
    digest = _hash_recovery_code(code)
    for stored in user.recovery_codes:
        if stored.used_at is None and hmac.compare_digest(stored.code_hash, digest):
            stored.used_at = utcnow()
            return True
    return False


def issue_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones; returns them (shown once)."""
    user.recovery_codes.clear()
    db.session.flush()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    user.recovery_codes.extend(RecoveryCode(code_hash=_hash_recovery_code(code)) for code in codes)
    return codes


def remaining_recovery_codes(user: User) -> int:
    return sum(1 for code in user.recovery_codes if code.used_at is None)


def begin_enrolment(user: User) -> None:
    """Store a fresh secret for the user to add to an authenticator app (not yet in force)."""
    if user.second_factor_enabled:
        raise SecondFactorError("Two-step sign-in is already set up for this account.")
    user.totp_secret = new_secret()
    user.totp_last_step = None
    audit.record("account.mfa_enrolment_started", user, object_type="user", object_id=user.id)
    db.session.flush()


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Turn the second factor on once the app shows a right code; returns the recovery codes."""
    if user.second_factor_enabled:
        raise SecondFactorError("Two-step sign-in is already set up for this account.")
    if not user.totp_secret:
        raise SecondFactorError("Start the set-up first.")
    step = _totp_step(user, code)
    if step is None:
        raise SecondFactorError("That code is not right. Check the time on your phone and enter the current code.")
    user.totp_last_step = step
    user.totp_enabled_at = utcnow()
    codes = issue_recovery_codes(user)
    audit.record("account.mfa_enabled", user, object_type="user", object_id=user.id)
    db.session.flush()
    return codes


def verify_second_factor(user: User, code: str, *, purpose: str = "login") -> str | None:
    """Check a code from the app or a recovery code; returns which one worked, or None.

    A wrong code counts as a failed sign-in and can lock the account (which also ends its sessions).
    """
    if user.locked_until and user.locked_until > utcnow():
        audit.record("auth.login_refused_locked", "anonymous", object_type="user", object_id=user.id)
        db.session.flush()
        return None
    method = None
    step = _totp_step(user, code)
    if step is not None:
        user.totp_last_step, method = step, "totp"
    elif _use_recovery_code(user, code):
        method = "recovery_code"
    if method is not None:
        if method == "recovery_code":
            audit.record(
                "account.recovery_code_used",
                user,
                object_type="user",
                object_id=user.id,
                details={"remaining": remaining_recovery_codes(user), "purpose": purpose},
            )
        db.session.flush()
        return method
    record_failure(user, "auth.code_failed", purpose=purpose)
    return None


def record_failure(user: User, action: str, *, purpose: str) -> bool:
    """Count a failed password or code; lock the account (and end its sessions) at the limit.

    Returns True when the account is now locked.
    """
    user.failed_logins += 1
    audit.record(
        action,
        "anonymous",
        object_type="user",
        object_id=user.id,
        details={"failures": user.failed_logins, "purpose": purpose},
    )
    locked = user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]
    if locked:
        user.locked_until = utcnow() + current_app.config["LOGIN_LOCKOUT"]
        user.failed_logins = 0
        end_all_sessions(user)
        audit.record("auth.account_locked", "system", object_type="user", object_id=user.id)
    db.session.flush()
    return locked


def regenerate_recovery_codes(user: User) -> list[str]:
    """The user replaces their recovery codes (the old ones stop working)."""
    if not user.second_factor_enabled:
        raise SecondFactorError("Set up two-step sign-in first.")
    codes = issue_recovery_codes(user)
    audit.record("account.recovery_codes_regenerated", user, object_type="user", object_id=user.id)
    db.session.flush()
    return codes


def _clear(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_codes.clear()


def disable_second_factor(user: User) -> None:
    """The user turns their own second factor off, where their role does not require it."""
    if required_for(user):
        raise SecondFactorError("Your role requires two-step sign-in; it cannot be turned off.")
    _clear(user)
    audit.record("account.mfa_disabled", user, object_type="user", object_id=user.id)
    db.session.flush()


def reset_second_factor(actor: User, user: User) -> None:
    """An administrator removes a user's second factor (lost phone); the user's sessions end."""
    had = user.totp_secret is not None
    _clear(user)
    end_all_sessions(user)
    audit.record("account.mfa_reset", actor, object_type="user", object_id=user.id, details={"was_set": had})
    db.session.flush()
