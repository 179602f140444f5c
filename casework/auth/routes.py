"""Sign in, sign out, password change, and account administration."""

import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from casework.auth import service
from casework.auth.decorators import role_required
from casework.auth.forms import ChangePasswordForm, ConfirmForm, LoginForm, UserForm
from casework.auth.session import enforce_idle_timeout
from casework.extensions import db, limiter
from casework.models import User

bp = Blueprint("auth", __name__)
bp.before_app_request(enforce_idle_timeout)

SIGN_IN_FAILED = (
    "Sign-in failed. Check your email and password. After several failed attempts, "
    "sign-in to an account is paused for 15 minutes."
)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
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
        result = service.authenticate(form.email.data, form.password.data)
        db.session.commit()
        if result.user is not None:
            session.clear()
            login_user(result.user, remember=False)
            session["seen"] = time.time()
            return redirect(_safe_next(request.args.get("next")))
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
def reset_password(user_id: int):
    user = _get_user(user_id)
    if not ConfirmForm().validate_on_submit():
        flash("The form expired. Please try again.", "error")
        return redirect(url_for("auth.edit_user", user_id=user.id))
    password = service.reset_password(current_user, user)
    db.session.commit()
    return render_template("auth/password_issued.html", user=user, password=password)
