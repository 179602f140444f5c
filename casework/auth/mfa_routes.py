"""Two-step sign-in: the code page, enrolment, recovery codes, re-authentication, the admin reset."""

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from casework.auth import mfa, service
from casework.auth.decorators import reauth_required, role_required
from casework.auth.forms import CodeForm, ConfirmForm, ReauthForm
from casework.auth.reauth import PREFIX, confirm_identity, sign_out_locked
from casework.auth.routes import SIGN_IN_FAILED, _get_user, _login_limit, _safe_next, bp
from casework.auth.session import PENDING_KEY, finish_sign_in, mark_reauthenticated, pending_sign_in
from casework.extensions import db, limiter
from casework.models import User, utcnow

# What a signed-in user of a role that requires a second factor may still do before setting one up.
ENROLMENT_ENDPOINTS = frozenset(
    {"auth.two_factor", "auth.two_factor_start", "auth.two_factor_confirm", "auth.logout", "static"}
)


@bp.before_app_request
def require_enrolment():
    """A signed-in user whose role requires a second factor can do nothing else until it is set up."""
    if (
        current_user.is_authenticated
        and request.endpoint not in ENROLMENT_ENDPOINTS
        and not current_user.second_factor_enabled
        and mfa.required_for(current_user)
    ):
        return redirect(url_for("auth.two_factor"))
    return None


def _locked(user: User) -> bool:
    return bool(user.locked_until and user.locked_until > utcnow())


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login_code():
    pending = pending_sign_in("code")
    if pending is None:
        flash("Please sign in again.", "info")
        return redirect(url_for("auth.login"))
    user, next_url = pending
    form = CodeForm()
    if form.validate_on_submit():
        method = mfa.verify_second_factor(user, form.code.data)
        if method:
            service.complete_sign_in(user, method)
            db.session.commit()
            finish_sign_in(user)
            if method == "recovery_code":
                remaining = mfa.remaining_recovery_codes(user)
                flash(f"You signed in with a recovery code; {remaining} remain. Each works only once.", "info")
            return redirect(_safe_next(next_url))
        db.session.commit()
        if _locked(user):
            session.pop(PENDING_KEY, None)
            flash(SIGN_IN_FAILED, "error")
            return redirect(url_for("auth.login"))
        form.code.errors.append("That code is not right. Enter the current code from your app, or a recovery code.")
    return render_template("auth/login_code.html", form=form)


def _enrolling_user() -> tuple[User | None, str | None]:
    """The signed-in user, or the one half-signed-in who must set up a second factor (and where to go next)."""
    if current_user.is_authenticated:
        return current_user, None
    pending = pending_sign_in("enrol")
    return pending if pending else (None, None)


@bp.get("/account/two-factor")
def two_factor():
    user, _next = _enrolling_user()
    if user is None:
        flash("Please sign in to continue.", "info")
        return redirect(url_for("auth.login"))
    context = {"user": user, "required": mfa.required_for(user), "confirm": ConfirmForm()}
    if user.second_factor_enabled:
        context["remaining"] = mfa.remaining_recovery_codes(user)
    elif user.totp_secret:
        uri = mfa.provisioning_uri(user)
        context.update(form=CodeForm(), secret=mfa.grouped_secret(user.totp_secret), uri=uri, qr=mfa.qr_data_uri(uri))
    return render_template("auth/two_factor.html", **context)


@bp.post("/account/two-factor/start")
def two_factor_start():
    user, _next = _enrolling_user()
    if user is None:
        return redirect(url_for("auth.login"))
    if not ConfirmForm().validate_on_submit():
        flash("The form expired. Please try again.", "error")
        return redirect(url_for("auth.two_factor"))
    try:
        mfa.begin_enrolment(user)
    except mfa.SecondFactorError as error:
        flash(str(error), "error")
    else:
        db.session.commit()
    return redirect(url_for("auth.two_factor"))


@bp.post("/account/two-factor/confirm")
def two_factor_confirm():
    user, next_url = _enrolling_user()
    if user is None:
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if not form.validate_on_submit():
        flash("Enter the 6-digit code your app shows.", "error")
        return redirect(url_for("auth.two_factor"))
    try:
        codes = mfa.confirm_enrolment(user, form.code.data)
    except mfa.SecondFactorError as error:
        flash(str(error), "error")
        return redirect(url_for("auth.two_factor"))
    signing_in = not current_user.is_authenticated
    if signing_in:
        service.complete_sign_in(user, "totp")
    db.session.commit()
    if signing_in:
        finish_sign_in(user)
    else:
        mark_reauthenticated()
    return render_template("auth/recovery_codes.html", codes=codes, next_url=_safe_next(next_url), new=True)


@bp.post("/account/two-factor/recovery-codes")
@login_required
@reauth_required
def regenerate_recovery_codes():
    if not ConfirmForm().validate_on_submit():
        flash("The form expired. Please try again.", "error")
        return redirect(url_for("auth.two_factor"))
    try:
        codes = mfa.regenerate_recovery_codes(current_user)
    except mfa.SecondFactorError as error:
        flash(str(error), "error")
        return redirect(url_for("auth.two_factor"))
    db.session.commit()
    return render_template("auth/recovery_codes.html", codes=codes, next_url=url_for("auth.two_factor"), new=False)


@bp.post("/account/two-factor/disable")
@login_required
@reauth_required
def disable_two_factor():
    if not ConfirmForm().validate_on_submit():
        flash("The form expired. Please try again.", "error")
        return redirect(url_for("auth.two_factor"))
    try:
        mfa.disable_second_factor(current_user)
    except mfa.SecondFactorError as error:
        flash(str(error), "error")
    else:
        db.session.commit()
        flash("Two-step sign-in is off for your account.", "success")
    return redirect(url_for("auth.two_factor"))


@bp.post("/admin/users/<int:user_id>/reset-two-factor")
@role_required("admin")
@reauth_required
def reset_two_factor(user_id: int):
    user = _get_user(user_id)
    if not ConfirmForm().validate_on_submit():
        flash("The form expired. Please try again.", "error")
        return redirect(url_for("auth.edit_user", user_id=user.id))
    mfa.reset_second_factor(current_user, user)
    db.session.commit()
    flash(
        f"Two-step sign-in is reset for {user.display_name}; their sessions have ended."
        + (" They will set it up again at their next sign-in." if mfa.required_for(user) else ""),
        "success",
    )
    return redirect(url_for("auth.edit_user", user_id=user.id))


@bp.route("/account/confirm", methods=["GET", "POST"])
@login_required
def reauth():
    form = ReauthForm(prefix=PREFIX)
    next_url = _safe_next(request.args.get("next"))
    if request.method == "POST" and form.validate():
        if confirm_identity(current_user, form):
            mark_reauthenticated()
            db.session.commit()
            return redirect(next_url)
        db.session.commit()
        if _locked(current_user):
            return sign_out_locked()
    return render_template("auth/reauth.html", form=form, action=request.full_path.rstrip("?"), carried=[])
