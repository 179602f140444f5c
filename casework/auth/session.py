"""Staff sessions: a session version checked on every request, and an idle timeout."""

from datetime import UTC, datetime

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from casework.extensions import db, login_manager
from casework.models import User


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user behind a session id "<id>:<version>", if that session is still valid."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


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
    session["seen"] = now
    return None
