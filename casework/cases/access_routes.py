"""The "Case access" page: recusals, users named on a restricted case, and restriction.

Intake coordinators and administrators use it; administrators reach it by reference and see no
case content. A case the user may not see is a 404 on every URL here, whatever their role.
"""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.exceptions import NotFound

from casework import access
from casework.auth.decorators import role_required
from casework.cases.access_forms import CaseLookupForm, ConfirmForm, GrantForm, RecusalForm, RestrictForm
from casework.cases.routes import bp
from casework.extensions import db
from casework.forms import choices
from casework.models import Case, User

MANAGERS = access.ACCESS_MANAGER_ROLES


def _load(reference: str, *, record: bool = False) -> Case:
    return access.load_case_reference(
        current_user, reference, roles=MANAGERS, action="case.access_viewed" if record else None
    )


def _user_or_404(user_id) -> User:
    number = str(user_id)
    user = db.session.get(User, int(number)) if number.isdigit() and 0 < int(number) < 2**31 else None
    if user is None:
        raise NotFound()
    return user


def _people(roles=None) -> list:
    return [(str(u.id), f"{u.display_name} ({u.role_label})") for u in access.staff_choices(roles)]


def _forms(case: Case, recusal_form=None, grant_form=None):
    recusal_form = RecusalForm(formdata=None) if recusal_form is None else recusal_form
    grant_form = GrantForm(formdata=None) if grant_form is None else grant_form
    recusal_form.user_id.choices = choices(dict(_people()), blank="— choose —")
    grant_form.user_id.choices = choices(dict(_people(access.GRANTABLE_ROLES)), blank="— choose —")
    return recusal_form, grant_form


def _render(case: Case, recusal_form=None, grant_form=None, status: int = 200):
    recusal_form, grant_form = _forms(case, recusal_form, grant_form)
    page = render_template(
        "cases/access.html",
        case=case,
        recusals=access.recusals_for(case),
        grants=access.grants_for(case),
        recusal_form=recusal_form,
        grant_form=grant_form,
        restrict_form=RestrictForm(formdata=None),
        confirm=ConfirmForm(formdata=None),
        may_read_content=access.may_read_content(current_user),
    )
    return page, status


def _done(case: Case, message: str):
    db.session.commit()
    flash(message, "success")
    if not access.can_see(current_user, case):  # e.g. the user recused themselves
        return redirect(url_for("reports.home"))
    return redirect(url_for("cases.access", reference=case.reference))


@bp.get("/access")
@role_required(*MANAGERS)
def access_lookup():
    form = CaseLookupForm(request.args)
    if request.args and form.validate():
        case = access.look_up_case(current_user, form.reference.data)
        db.session.commit()
        if case is not None:
            return redirect(url_for("cases.access", reference=case.reference))
        form.reference.errors.append("No case has that reference, or you may not see it.")
    return render_template("cases/access_lookup.html", form=form)


@bp.get("/<reference>/access", endpoint="access")
@login_required
def access_page(reference: str):
    case = _load(reference, record=True)
    db.session.commit()
    return _render(case)


@bp.post("/<reference>/access/recusals")
@login_required
def access_recuse(reference: str):
    case = _load(reference)
    form = RecusalForm()
    _forms(case, recusal_form=form)
    if form.validate():
        try:
            recusal = access.recuse(current_user, case, _user_or_404(form.user_id.data), form.reason.data)
        except access.AccessChangeError as error:
            form[error.field].errors.append(str(error))
        else:
            user = db.session.get(User, recusal.user_id)
            return _done(case, f"{user.display_name} is recused from {case.reference}.")
    return _render(case, recusal_form=form, status=400)


@bp.post("/<reference>/access/recusals/<int:user_id>/lift")
@login_required
def access_lift_recusal(reference: str, user_id: int):
    case = _load(reference)
    user = _user_or_404(user_id)
    if ConfirmForm().validate_on_submit():
        try:
            access.lift_recusal(current_user, case, user)
        except access.AccessChangeError as error:
            flash(str(error), "error")
            return redirect(url_for("cases.access", reference=case.reference))
        return _done(case, f"{user.display_name} may see {case.reference} again.")
    flash("The form expired. Please try again.", "error")
    return redirect(url_for("cases.access", reference=case.reference))


@bp.post("/<reference>/access/restricted")
@login_required
def access_restrict(reference: str):
    case = _load(reference)
    form = RestrictForm()
    if not form.validate_on_submit():
        flash("The form expired. Please try again.", "error")
        return redirect(url_for("cases.access", reference=case.reference))
    restricted = form.restricted.data == "1"
    access.set_restricted(current_user, case, restricted)
    if restricted:
        return _done(case, f"{case.reference} is now restricted to its assignee and the people named on it.")
    return _done(case, f"{case.reference} is no longer restricted.")


@bp.post("/<reference>/access/grants")
@login_required
def access_grant(reference: str):
    case = _load(reference)
    form = GrantForm()
    _forms(case, grant_form=form)
    if form.validate():
        user = _user_or_404(form.user_id.data)
        try:
            access.grant_access(current_user, case, user)
        except access.AccessChangeError as error:
            form[error.field].errors.append(str(error))
        else:
            return _done(case, f"{user.display_name} is named on {case.reference}.")
    return _render(case, grant_form=form, status=400)


@bp.post("/<reference>/access/grants/<int:user_id>/revoke")
@login_required
def access_revoke(reference: str, user_id: int):
    case = _load(reference)
    user = _user_or_404(user_id)
    if ConfirmForm().validate_on_submit():
        try:
            access.revoke_access(current_user, case, user)
        except access.AccessChangeError as error:
            flash(str(error), "error")
            return redirect(url_for("cases.access", reference=case.reference))
        return _done(case, f"{user.display_name} is no longer named on {case.reference}.")
    flash("The form expired. Please try again.", "error")
    return redirect(url_for("cases.access", reference=case.reference))
