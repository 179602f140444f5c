"""Staff side: queues, the case page, transitions, assignment, notes, the reporter thread, workflows."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.routing import BuildError

from casework import access, documents, flows
from casework.auth.decorators import role_required
from casework.cases import queries, service
from casework.cases.forms import (
    AssignForm,
    MessageForm,
    NoteForm,
    VersionedForm,
    transition_data,
    transition_form,
)
from casework.clock import local_today
from casework.errors import render_error
from casework.extensions import db
from casework.models import Case, User
from casework.navigation import ALL_STAFF, CASE_WORKERS
from workflows import TransitionRefused, WorkflowError

bp = Blueprint("cases", __name__, url_prefix="/cases")


# -- queues ----------------------------------------------------------------------------------


@bp.get("/")
@role_required(*CASE_WORKERS, "auditor")
def queue():
    available = {q.name: q for q in queries.queues_for(current_user)}
    name = request.args.get("queue") or queries.default_queue(current_user)
    if name not in available:
        abort(404)
    today = local_today()
    after = queries.Cursor.decode(request.args.get("after"), available[name].order)
    page = queries.queue_page(current_user, name, today, after)
    counts = queries.queue_counts(current_user, today)
    # Rendered before the commit, which would expire the signed-in user (a query while rendering).
    response = render_template(
        "cases/queue.html",
        queues=list(available.values()),
        current=available[name],
        counts=counts,
        count_cap=queries.COUNT_CAP,
        page=page,
        today=today,
        registry=flows.registry(),
    )
    db.session.commit()
    return response


# -- administrators: the workflow definitions -------------------------------------------------


@bp.get("/workflows")
@role_required("admin")
def workflows():
    registry = flows.registry()
    items = sorted(registry, key=lambda wf: (wf.name, -wf.version))
    latest = {name: registry.latest(name).version for name in registry.names()}
    return render_template("cases/workflows.html", workflows=items, latest=latest)


# -- the case page ---------------------------------------------------------------------------


def _evidence_urls(case: Case, evidence: list) -> list[tuple]:
    """(evidence, download URL or None) for each item: the URL built once and completed with each item's id."""
    prefix = None
    if "cases.evidence_download" in current_app.view_functions and evidence:
        try:
            prefix = url_for("cases.evidence_download", reference=case.reference, evidence_id=0).removesuffix("0")
        except BuildError:
            prefix = None
    return [(e, f"{prefix}{e.id}" if prefix else None) for e in evidence]


def _assignment_names(timeline: list, known: list[User | None]) -> dict[int, str]:
    """The names of the users the timeline's assignments name; a query only for those not already loaded."""
    user_ids = {
        value
        for entry in timeline
        if entry.event.kind == "assignment"
        for value in (entry.event.data or {}).values()
        if isinstance(value, int)
    }
    if not user_ids:
        return {}
    loaded = {user.id: user.display_name for user in known if user is not None}
    loaded.update((entry.event.actor.id, entry.event.actor.display_name) for entry in timeline if entry.event.actor)
    names = {user_id: loaded[user_id] for user_id in user_ids if user_id in loaded}
    if missing := user_ids - names.keys():
        names.update(db.session.execute(select(User.id, User.display_name).where(User.id.in_(missing))).all())
    return names


def _trigger_labeller(workflow):
    def label(trigger: str | None) -> str:
        try:
            return workflow.transition_label(trigger or "")
        except WorkflowError:
            return (trigger or "change").replace("_", " ").capitalize()

    return label


def _action_forms(case: Case, overrides: dict | None = None) -> list[tuple]:
    """(spec, form) for each action the user may take now; ``overrides`` keeps a submitted form."""
    if not access.may_change(current_user):
        return []
    workflow = flows.workflow_for(case)
    specs = workflow.available(case.status, current_user.role, service.facts_for(case))
    overrides = overrides or {}
    return [(spec, overrides.get(spec.trigger) or transition_form(spec, case.version, formdata=None)) for spec in specs]


# Joined to the case in the statement that loads it: the assignee, and the parties (a few rows; the page, the
# workflow's guards and the related cases all read them).
CASE_PAGE_OPTIONS = (joinedload(Case.assignee), joinedload(Case.parties))


def _render_case(case: Case, status: int = 200, *, error: str | None = None, thread: list | None = None, **forms):
    workflow = flows.workflow_for(case)
    reader = current_user._get_current_object()
    may_change = access.may_change(reader)
    may_assign = service.may_assign(reader, case)
    assign_form = forms.get("assign_form")
    if may_assign and assign_form is None:
        assign_form = AssignForm(formdata=None, version=str(case.version))
        assign_form.assignee.data = str(case.assignee_id or "")
    candidates = service.assignable_users(case) if assign_form is not None else []
    if assign_form is not None:
        assign_form.set_candidates(candidates)
    timeline = service.timeline(case, reader)
    platforms, behaviours = service.platforms_and_behaviours(case)
    return render_template(
        "cases/case.html",
        case=case,
        workflow=workflow,
        today=local_today(),
        show_identity=access.may_see_reporter_identity(reader, case),
        evidence=_evidence_urls(case, service.evidence_rows(case)),
        timeline=timeline,
        names=_assignment_names(timeline, [*candidates, reader, case.assignee]),
        related=service.related_cases(case, reader),
        platforms=platforms,
        behaviours=behaviours,
        documents=documents.available_documents(case, reader),
        actions=_action_forms(case, forms.get("action_overrides")),
        assign_form=assign_form if may_assign else None,
        note_form=(forms.get("note_form") or NoteForm(formdata=None, prefix="note"))
        if may_change and reader.case_office
        else None,
        message_form=(forms.get("message_form") or MessageForm(formdata=None, prefix="message"))
        if may_change
        else None,
        thread=service.reporter_thread(case) if thread is None else thread,
        error=error,
        trigger_label=_trigger_labeller(workflow),
    ), status


@bp.get("/<reference>")
@role_required(*ALL_STAFF)
def case_page(reference: str):
    case = access.load_case(current_user, reference, options=CASE_PAGE_OPTIONS)
    thread = service.reporter_thread(case)
    service.mark_reporter_messages_read(case, current_user, thread)
    response = _render_case(case, thread=thread)
    db.session.commit()
    return response


def _load_for_change(reference: str) -> Case:
    """The case for a change: 404 if the user may not see it (whatever their role), then 403 unless they work cases."""
    # No view entry here: the service locks the case row before any audit append (see service._lock_for_change).
    return access.load_case_reference(current_user, reference, roles=CASE_WORKERS)


def _conflict(reference: str, *, retry_form: VersionedForm, retry_url: str, still_possible, kept: dict, what: str):
    """409: say who changed the case and when; keep what the user typed; offer to send it again."""
    db.session.rollback()
    case = access.load_case(current_user, reference)
    last = service.last_change(case)
    retry = still_possible(case)
    if retry:
        retry_form.version.data = str(case.version)
        if isinstance(retry_form, AssignForm):
            retry_form.set_candidates(service.assignable_users(case))
    page = render_template(
        "cases/conflict.html",
        case=case,
        workflow=flows.workflow_for(case),
        last=last,
        retry_form=retry_form if retry else None,
        retry_url=retry_url,
        kept=kept,
        what=what,
    )
    db.session.commit()
    return page, 409


@bp.post("/<reference>/actions/<trigger>")
@login_required  # not role_required: a case the user may not see is a 404 for every role
def fire(reference: str, trigger: str):
    case = _load_for_change(reference)
    workflow = flows.workflow_for(case)
    if trigger not in workflow.triggers:
        abort(404)
    # The fields of this trigger from the case's state (or from any state, to keep what was typed).
    spec = workflow.spec_for(case.status, trigger) or next(t for t in workflow.transitions if t.trigger == trigger)
    form = transition_form(spec)
    data = transition_data(form, spec)
    try:
        service.transition(case, trigger, current_user, data, form.expected_version())
    except service.StaleCase:
        return _stale_transition(reference, trigger, form, data)
    except service.ActionForbidden as refused:
        db.session.rollback()
        return render_error(403, refused.message)
    except TransitionRefused as refused:
        db.session.rollback()
        for name, message in refused.field_errors.items():
            form[name].errors = [message]
        case = access.load_case(current_user, reference, options=CASE_PAGE_OPTIONS)
        response = _render_case(case, 400, error=refused.message, action_overrides={trigger: form})
        db.session.commit()
        return response
    db.session.commit()
    flash(f"{spec.label}: done. The case is now {workflow.state_label(case.status).lower()}.", "success")
    if spec.refers:
        flash("The referral packet for the receiving office is under Documents.", "success")
    return redirect(url_for("cases.case_page", reference=case.reference))


def _stale_transition(reference: str, trigger: str, form: VersionedForm, data: dict):
    def still_possible(case: Case) -> bool:
        workflow = flows.workflow_for(case)
        return any(
            s.trigger == trigger for s in workflow.available(case.status, current_user.role, service.facts_for(case))
        )

    return _conflict(
        reference,
        retry_form=form,
        retry_url=url_for("cases.fire", reference=reference, trigger=trigger),
        still_possible=still_possible,
        kept={form[name].label.text: value for name, value in data.items() if value},
        what=form.submit.label.text,
    )


@bp.post("/<reference>/assign")
@login_required  # not role_required: a case the user may not see is a 404 for every role
def assign(reference: str):
    case = _load_for_change(reference)
    form = AssignForm()
    assignee = None
    if form.assignee.data:
        text = form.assignee.data.strip()
        if text.isdigit() and len(text) < 10:  # an id, not a number the database would choke on
            assignee = db.session.get(User, int(text))
        if assignee is None:
            form.assignee.errors = ["Choose a member of the office that holds the case."]
    try:
        if form.assignee.errors:
            raise service.CaseActionRefused("Choose a member of the office that holds the case.", "assignee")
        service.assign(case, assignee, current_user, form.expected_version())
    except service.StaleCase:
        return _conflict(
            reference,
            retry_form=form,
            retry_url=url_for("cases.assign", reference=reference),
            still_possible=lambda case: service.may_assign(current_user, case),
            kept={"Assign to": assignee.display_name if assignee else "nobody"},
            what="Assign",
        )
    except service.CaseActionRefused as refused:
        db.session.rollback()
        if refused.field is None:
            return render_error(403, refused.message)
        form.assignee.errors = [refused.message]
        case = access.load_case(current_user, reference, options=CASE_PAGE_OPTIONS)
        response = _render_case(case, 400, error=refused.message, assign_form=form)
        db.session.commit()
        return response
    db.session.commit()
    flash("Assignment saved.", "success")
    return redirect(url_for("cases.case_page", reference=case.reference))


def _post_text(reference: str, form_class, prefix: str, call, form_key: str, done: str, anchor: str):
    case = _load_for_change(reference)
    form = form_class(prefix=prefix)
    try:
        if not form.validate():
            raise service.CaseActionRefused("Please correct the highlighted fields.", "body")
        call(case, form)
    except service.CaseActionRefused as refused:
        db.session.rollback()
        if refused.field is None:
            return render_error(403, refused.message)
        if refused.field in form and not form[refused.field].errors:
            form[refused.field].errors = [refused.message]
        case = access.load_case(current_user, reference, options=CASE_PAGE_OPTIONS)
        response = _render_case(case, 400, error=refused.message, **{form_key: form})
        db.session.commit()
        return response
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("cases.case_page", reference=case.reference, _anchor=anchor))


@bp.post("/<reference>/notes")
@login_required  # not role_required: a case the user may not see is a 404 for every role
def add_note(reference: str):
    return _post_text(
        reference,
        NoteForm,
        "note",
        lambda case, form: service.add_note(case, current_user, form.body.data, form.visibility.data),
        "note_form",
        "Note added.",
        "timeline",
    )


@bp.post("/<reference>/messages")
@login_required  # not role_required: a case the user may not see is a 404 for every role
def reply(reference: str):
    return _post_text(
        reference,
        MessageForm,
        "message",
        lambda case, form: service.post_staff_message(case, current_user, form.body.data),
        "message_form",
        "Your reply is in the reporter's thread.",
        "thread",
    )
