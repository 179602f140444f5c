"""Sign in, sign out, password change, and account administration."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select

from casework.auth import mfa, service
from casework.auth.decorators import reauth_required, role_required
from casework.auth.forms import ChangePasswordForm, ConfirmForm, LoginForm, UserForm
from casework.auth.session import enforce_idle_timeout, finish_sign_in, start_pending_sign_in
from casework.extensions import db, limiter
from casework.models import User

bp = Blueprint("auth", __name__)
bp.before_app_request(enforce_idle_timeout)

SIGN_IN_FAILED = (
    "Sign-in failed. Check your email and password. After several failed attempts, "
    "sign-in to an account is paused for 15 minutes."
)


def _safe_next(target: str | None) -> str:
    """A local path to go to after signing in; anything else (another site, a scheme) means home."""
    # Browsers read "\\" as "/" and drop tabs and newlines, so "/\\evil.example" would leave the site.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(ch) < 32 or ord(ch) == 127 for ch in target)
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("reports.home")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("reports.home"))
    form = LoginForm()
    if form.validate_on_submit():
        # Argon2 is slow by design, and on SQLite every transaction holds the database's write lock: read the
        # stored hash, end that read (nothing is written yet), check the password, then make the change.
        # Otherwise sign-ins queue behind each other's hashing and, under load, end in "database is locked".
        stored_hash = service.stored_password_hash(form.email.data)
        db.session.commit()
        checked = service.check_password_outside_transaction(stored_hash, form.password.data)
        result = service.authenticate(form.email.data, form.password.data, checked)
        if result.next_step == "enrol" and not result.user.totp_secret:
            mfa.begin_enrolment(result.user)
        db.session.commit()
        if result.user is not None:
            next_url = _safe_next(request.args.get("next"))
            if result.next_step == "code":
                start_pending_sign_in(result.user, next_url, "code")
                return redirect(url_for("auth.login_code"))
            if result.next_step == "enrol":
                start_pending_sign_in(result.user, next_url, "enrol")
                flash("Your role needs two-step sign-in. Set it up now to continue.", "info")
                return redirect(url_for("auth.two_factor"))
            finish_sign_in(result.user)
            return redirect(next_url)
        flash(SIGN_IN_FAILED, "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    service.sign_out(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out. Every session of your account has ended.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            service.change_password(current_user, form.current_password.data, form.new_password.data)
        except service.AccountError as error:
            form[error.field].errors.append(str(error))
        else:
            db.session.commit()
            logout_user()
            session.clear()
            flash("Your password is changed. Please sign in again; your other sessions have ended.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/change_password.html", form=form)


@bp.get("/admin/users")
@role_required("admin")
def users():
    accounts = db.session.scalars(select(User).order_by(User.role, User.display_name)).all()
    return render_template("auth/users.html", users=accounts, confirm=ConfirmForm())


@bp.route("/admin/users/new", methods=["GET", "POST"])
@role_required("admin")
@reauth_required(methods=("POST",))
def new_user():
    form = UserForm()
    if form.validate_on_submit():
        try:
            user, password = service.create_user(
                current_user,
                email=form.email.data,
                display_name=form.display_name.data,
                role=form.role.data,
                office=form.office.data or None,
            )
        except service.AccountError as error:
            form[error.field].errors.append(str(error))
        else:
            db.session.commit()
            return render_template("auth/password_issued.html", user=user, password=password)
    return render_template("auth/user_form.html", form=form, user=None)


def _get_user(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@role_required("admin")
@reauth_required(methods=("POST",))
def edit_user(user_id: int):
    user = _get_user(user_id)
    form = UserForm(obj=user)
    form.email.render_kw = {"readonly": True}
    if request.method == "POST":
        form.email.data = user.email
    if form.validate_on_submit():
        try:
            service.update_user(
                current_user,
                user,
                display_name=form.display_name.data,
                role=form.role.data,
                office=form.office.data or None,
                active=form.active.data,
            )
        except service.AccountError as error:
            form[error.field].errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Saved {user.display_name}'s account.", "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=user, confirm=ConfirmForm())


@bp.post("/admin/users/<int:user_id>/reset-password")
@role_required("admin")
@reauth_required
def reset_password(user_id: int):
    user = _get_user(user_id)
    if not ConfirmForm().validate_on_submit():
        flash("The form expired. Please try again.", "error")
        return redirect(url_for("auth.edit_user", user_id=user.id))
    password = service.reset_password(current_user, user)
    db.session.commit()
    return render_template("auth/password_issued.html", user=user, password=password)
