"""The auditor's workspace: the trail, a case's history, verification, exports. Auditors only; read-only."""

from flask import Blueprint, Response, abort, current_app, render_template, request, stream_with_context
from flask_login import current_user, login_required

from casework import ROOT, audit
from casework.access import load_case_reference
from casework.auditing import service
from casework.auditing.forms import ExportForm, TrailFilterForm, VerifyForm
from casework.auth.decorators import role_required
from casework.extensions import db
from casework.forms import choices

bp = Blueprint("auditing", __name__, url_prefix="/audit")

VERIFIER = ROOT / "tools" / "verify_audit_export.py"


def _filter_form(form_class=TrailFilterForm):
    form = form_class(request.args)
    form.actor.choices = choices(dict(service.actor_choices()), blank="Anyone")
    return form


def _trail_filter(form) -> service.TrailFilter | None:
    """The filter the form asks for, or None (with an error on the form) when it cannot be applied."""
    if not form.validate():
        return None
    case_id = None
    number = (form.case.data or "").removeprefix("#")
    if number.isdigit() and len(number) < 10:
        case_id = int(number)  # a case number: still works once a purge has removed the case and its reference
    elif form.case.data:
        case = service.find_case_for_auditor(current_user, form.case.data)
        if case is None:
            form.case.errors.append("No case has that reference.")
            return None
        case_id = case.id
    return service.TrailFilter(
        case_id=case_id,
        actor=form.actor.data or None,
        action=form.action.data or None,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
    )


def _seq_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 19 else None


@bp.get("/")
@role_required("auditor")
def trail():
    form = _filter_form()
    trail_filter = _trail_filter(form)
    page = None
    if trail_filter is not None:
        page = service.list_entries(current_user, trail_filter, before=_seq_arg("before"), after=_seq_arg("after"))
        db.session.commit()
    args = {k: v for k, v in request.args.items() if k not in ("before", "after")}
    return render_template("auditing/trail.html", form=form, page=page, args=args)


@bp.get("/cases/<reference>")
@login_required
def case_history(reference: str):
    case = load_case_reference(current_user, reference, roles=("auditor",))
    history = service.case_history(current_user, case)
    db.session.commit()
    return render_template("auditing/case_history.html", case=case, history=history)


@bp.route("/verification", methods=["GET", "POST"])
@role_required("auditor")
def verification():
    form = VerifyForm()
    outcome = None
    checkpoint_error = None
    if form.validate_on_submit():
        checkpoint = None
        if form.checkpoint.data and form.checkpoint.data.strip():
            try:
                checkpoint = audit.load_checkpoint(form.checkpoint.data, current_app.config["AUDIT_CHECKPOINT_KEY"])
            except audit.CheckpointError as error:
                checkpoint_error = str(error)
                form.checkpoint.errors.append(checkpoint_error)
        if checkpoint_error is None:
            outcome = service.run_verification(current_user, checkpoint=checkpoint)
            db.session.commit()
    return render_template(
        "auditing/verification.html", form=form, outcome=outcome, recent=service.recent_verifications()
    )


@bp.get("/export")
@role_required("auditor")
def export():
    form = _filter_form(ExportForm)
    if "format" not in request.args:
        return render_template("auditing/export.html", form=form)
    trail_filter = _trail_filter(form)
    if trail_filter is None:
        return render_template("auditing/export.html", form=form), 400
    result = service.export_trail(current_user, trail_filter, form.format.data)
    db.session.commit()
    response = Response(stream_with_context(result.lines), mimetype=result.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response.headers["X-Audit-Entries"] = str(result.count)
    return response


@bp.get("/export/verify_audit_export.py")
@role_required("auditor")
def export_verifier():
    if not VERIFIER.is_file():
        abort(404)
    response = Response(VERIFIER.read_bytes(), mimetype="text/x-python")
    response.headers["Content-Disposition"] = 'attachment; filename="verify_audit_export.py"'
    return response
