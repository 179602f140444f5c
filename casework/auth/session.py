"""Staff sessions: a session version checked on every request, and an idle timeout."""

from datetime import UTC, datetime

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, select

from casework.extensions import db, login_manager
from casework.models import User

# Built once: Session.get builds its statement afresh for every request (0.1 ms of a page's 3).
USER_BY_ID = select(User).where(User.id == bindparam("user_id"))


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user behind a session id "<id>:<version>", if that session is still valid."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.execute(USER_BY_ID, {"user_id": int(user_id)}).scalar_one_or_none()
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


# The idle clock is moved on at most once a minute: a session changed on every request would be signed and
# sent back as a new cookie with every page.
SEEN_RESOLUTION_SECONDS = 60


def enforce_idle_timeout():
    """End a staff session after the configured idle time; refresh the clock otherwise."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    now = datetime.now(UTC).timestamp()
    last_seen = session.get("seen")
    idle = current_app.config["IDLE_TIMEOUT"].total_seconds()
    if last_seen is not None and now - float(last_seen) > idle:
        logout_user()
        session.clear()
        flash("You were signed out after a period of inactivity. Please sign in again.", "info")
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    if last_seen is None or now - float(last_seen) >= SEEN_RESOLUTION_SECONDS:
        session["seen"] = now
    return None


# The half-signed-in state: the password was right, the second factor is still to come.
PENDING_KEY = "mfa_pending"
REAUTH_KEY = "reauth_at"


def _now() -> float:
    return datetime.now(UTC).timestamp()


def start_pending_sign_in(user: User, next_url: str, purpose: str) -> None:
    """Remember, briefly, who gave a right password and what they must do next ("code" or "enrol")."""
    session.clear()
    session[PENDING_KEY] = {"uid": user.id, "ver": user.session_version, "at": _now(), "next": next_url, "p": purpose}


def pending_sign_in(purpose: str | None = None) -> tuple[User, str] | None:
    """The user half-signed-in in this session and where to go afterwards, if still valid."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or (purpose and pending.get("p") != purpose):
        return None
    timeout = current_app.config["MFA_ENROLMENT_TIMEOUT" if pending.get("p") == "enrol" else "MFA_PENDING_TIMEOUT"]
    try:
        expired = _now() - float(pending["at"]) > timeout.total_seconds()
        user = db.session.get(User, int(pending["uid"]))
    except (KeyError, TypeError, ValueError):
        return None
    if expired or user is None or not user.active or user.session_version != pending.get("ver"):
        session.pop(PENDING_KEY, None)
        return None
    return user, str(pending.get("next") or "/")


def finish_sign_in(user: User) -> None:
    """Start a full session for the user (the caller has recorded the sign-in)."""
    session.clear()
    login_user(user, remember=False)
    session["seen"] = _now()
    session[REAUTH_KEY] = _now()


def mark_reauthenticated() -> None:
    session[REAUTH_KEY] = _now()


def recently_authenticated() -> bool:
    """Whether the signed-in user gave their password (and code) within the re-authentication window."""
    last = session.get(REAUTH_KEY)
    if not isinstance(last, int | float):
        return False
    return 0 <= _now() - float(last) <= current_app.config["REAUTH_WINDOW"].total_seconds()
