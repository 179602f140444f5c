"""The reporter's follow-up portal: a reference and a key open one case, for one short session."""

from __future__ import annotations

import time

from flask import current_app, flash, make_response, redirect, render_template, request, session, url_for

from casework.extensions import db, limiter
from casework.intake import service, staging
from casework.intake.forms import FollowUpMessageForm, FollowUpSignInForm, normalized_text, parse_links
from casework.intake.routes import allow_uploads, bp, current_token, no_store, stage_uploads
from casework.models import Case

PORTAL_CASE = "reporter_case_id"
PORTAL_SEEN = "reporter_seen"
WRONG_KEY = (
    "We could not open a report with that reference and key. Check both and try again. "
    "After several attempts, please wait 15 minutes."
)


def _attempts_per_ip() -> str:
    return current_app.config["FOLLOW_UP_RATE_LIMIT"]


def _attempts_per_reference() -> str:
    return current_app.config["FOLLOW_UP_REFERENCE_RATE_LIMIT"]


def _reference_key() -> str:
    return "follow-up-reference:" + (request.form.get("reference") or "").strip().upper()[:40]


def _failed(response) -> bool:
    return response.status_code != 302


def _leave_portal() -> None:
    session.pop(PORTAL_CASE, None)
    session.pop(PORTAL_SEEN, None)


def portal_case() -> Case | None:
    """The case this browser's portal session opened, unless it has been idle too long."""
    case_id, seen = session.get(PORTAL_CASE), session.get(PORTAL_SEEN)
    if not isinstance(case_id, int) or not isinstance(seen, int | float):
        return None
    if time.time() - seen > current_app.config["REPORTER_IDLE_TIMEOUT"].total_seconds():
        _leave_portal()
        flash("For your privacy, your follow-up session ended after a while without activity. Open it again.", "info")
        return None
    case = service.reporter_case(case_id)
    if case is None:
        _leave_portal()
        return None
    session[PORTAL_SEEN] = time.time()
    return case


@bp.route("/follow-up", methods=["GET", "POST"])
@limiter.limit(_attempts_per_ip, methods=["POST"], deduct_when=_failed)
@limiter.limit(_attempts_per_reference, methods=["POST"], key_func=_reference_key, deduct_when=_failed)
def follow_up():
    form = FollowUpSignInForm()
    if request.method == "GET" and portal_case() is not None:
        return redirect(url_for("intake.follow_up_case"))
    if form.validate_on_submit():
        case = service.open_follow_up(form.reference.data, form.key.data)
        if case is not None:
            db.session.commit()
            _leave_portal()
            session[PORTAL_CASE] = case.id
            session[PORTAL_SEEN] = time.time()
            return redirect(url_for("intake.follow_up_case"))
        flash(WRONG_KEY, "error")
    form.key.data = ""
    return no_store(make_response(render_template("intake/follow_up_sign_in.html", form=form)))


@bp.route("/follow-up/report", methods=["GET", "POST"])
def follow_up_case():
    case = portal_case()
    if case is None:
        return redirect(url_for("intake.follow_up"))
    if request.method == "POST":
        allow_uploads()
    form = FollowUpMessageForm()
    token = current_token(form)
    if request.method == "POST":
        refused = stage_uploads(token)
        if request.form.get("remove_file"):
            staging.remove(token, request.form["remove_file"])
        else:
            valid = form.validate()
            if refused:
                form.files.errors = [*form.files.errors, *refused]
                valid = False
            staged = staging.list_staged(token)
            links, _ = parse_links(form.links.data)
            message = normalized_text(form.message.data)
            if valid and not (message or staged or links):
                form.message.errors = [*form.message.errors, "Write a message or add a file or a link."]
                valid = False
            if valid:
                files = [service.EvidenceFile(name=f.name, path=f.path) for f in staged]
                service.add_reporter_information(case, message=message, files=files, links=links)
                db.session.commit()
                staging.discard(token)
                flash("Thank you. The office has received what you sent.", "success")
                return redirect(url_for("intake.follow_up_case"))
    view = service.visit_follow_up(case)
    db.session.commit()
    page = render_template("intake/follow_up.html", view=view, form=form, staged=staging.list_staged(token))
    return no_store(make_response(page))


@bp.post("/follow-up/leave")
def follow_up_leave():
    _leave_portal()
    flash("You have left your report. Use your reference and key to open it again.", "info")
    return redirect(url_for("intake.follow_up"))
