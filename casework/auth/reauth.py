"""Re-authentication before sensitive actions: the password, and the second factor where enrolled."""

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from casework import audit
from casework.auth import mfa, service
from casework.auth.forms import ReauthForm
from casework.auth.session import mark_reauthenticated, recently_authenticated
from casework.extensions import db
from casework.models import User, utcnow

PREFIX = "reauth"
LOCKED_OUT = "Too many wrong attempts: your account is paused for a while and you were signed out."


def confirm_identity(user: User, form: ReauthForm) -> bool:
    """Check the password and (where enrolled) the code; a wrong one counts towards the lock-out."""
    if not service.confirm_identity(user, form.password.data or ""):
        form.password.errors.append("That password is not right.")
        return False
    if user.second_factor_enabled and not mfa.verify_second_factor(user, form.code.data or "", purpose="reauth"):
        form.code.errors.append("That code is not right.")
        return False
    audit.record("auth.reauthenticated", user, object_type="user", object_id=user.id)
    return True


def _locked(user: User) -> bool:
    return bool(user.locked_until and user.locked_until > utcnow())


def sign_out_locked():
    logout_user()
    session.clear()
    flash(LOCKED_OUT, "error")
    return redirect(url_for("auth.login"))


def ask_for_identity():
    """None when the user re-authenticated recently (or just now); otherwise the response to send."""
    if recently_authenticated():
        return None
    if request.method in ("GET", "HEAD"):
        return redirect(url_for("auth.reauth", next=request.full_path.rstrip("?")))
    form = ReauthForm(prefix=PREFIX)
    if f"{PREFIX}-password" in request.form:
        if form.validate() and confirm_identity(current_user, form):
            mark_reauthenticated()
            return None  # the guarded view runs now and commits its change with the audit entry above
        db.session.commit()  # keep the failure count
        if _locked(current_user):
            return sign_out_locked()
    carried = [
        (name, value)
        for name, value in request.form.items(multi=True)
        # A multipart part without a name arrives under None: nothing to carry.
        if isinstance(name, str) and name != "csrf_token" and not name.startswith(f"{PREFIX}-")
    ]
    return render_template("auth/reauth.html", form=form, action=request.full_path.rstrip("?"), carried=carried)
