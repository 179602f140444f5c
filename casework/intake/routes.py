"""The public report form and the reporter's follow-up portal; staff-recorded reports."""

from __future__ import annotations

import click
from flask import (
    Blueprint,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from casework import storage
from casework.auth.decorators import role_required
from casework.extensions import csrf, db, limiter
from casework.intake import service, staging
from casework.intake.forms import ReportForm, StaffReportForm, normalized_text, parse_links
from casework.storage import FileRefused

bp = Blueprint("intake", __name__, cli_group="intake")

RECEIPT = "intake_receipt"
STAFF_RECEIPT = "intake_staff_receipt"
TOO_MANY_REPORTS = (
    "Too many reports have been sent from your network in the last hour, so this one is not sent yet. "
    "Everything you wrote is still here: please wait a while and send it again, or call the office."
)


def allow_uploads() -> None:
    """Accept a request large enough that an oversize file gets a message beside the form, not an error page."""
    request.max_content_length = current_app.config["MAX_REPORT_REQUEST_MB"] * 1024 * 1024
    request.max_form_memory_size = 4 * 1024 * 1024


def stage_uploads(token: str) -> list[str]:
    """Keep every acceptable uploaded file under `token`; the reasons the others were refused."""
    refused = []
    for upload in request.files.getlist("files"):
        if not upload or not upload.filename:
            continue  # an empty file input
        try:
            staging.stage(token, upload)
        except FileRefused as error:
            refused.append(str(error))
    return refused


def current_token(form) -> str:
    token = form.staging_token.data
    if not staging.valid_token(token):
        token = staging.new_token()
    form.staging_token.data = token
    return token


def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def report_data(form: ReportForm, staged: list[staging.StagedFile]) -> service.ReportData:
    """The service's view of a valid form."""
    named = form.identity.data == "named"
    links, _ = parse_links(form.links.data)
    ongoing = {"yes": True, "no": False}.get(form.ongoing.data or "")
    parties = [
        service.PartyData(
            kind=entry.form.kind.data if entry.form.kind.data in ("respondent", "witness") else "respondent",
            name=normalized_text(entry.form.name.data),
            handle=normalized_text(entry.form.handle.data),
            platform=entry.form.platform.data or None,
            affiliation=entry.form.affiliation.data or None,
            relationship=normalized_text(entry.form.relationship.data),
        )
        for entry in form.parties
        if not entry.form.is_blank
    ]
    return service.ReportData(
        narrative=normalized_text(form.narrative.data),
        anonymous=not named,
        name=normalized_text(form.name.data) if named else None,
        email=(form.email.data or None) if named else None,
        phone=(form.phone.data or None) if named else None,
        affiliation=(form.affiliation.data or None) if named else None,
        contact_preference=(form.contact_preference.data or None) if named else None,
        consent_share_identity=bool(form.consent_share_identity.data) and named,
        parties=parties,
        platforms=list(form.platforms.data or []),
        platform_other=normalized_text(form.platform_other.data),
        behaviours=list(form.behaviours.data or []),
        behaviour_other=normalized_text(form.behaviour_other.data),
        began_on=form.began_on.data,
        began_approximate=bool(form.began_approximate.data),
        ongoing=ongoing,
        connected_to_content=form.connected.data == "yes",
        connection_details=normalized_text(form.connection_details.data),
        links=links,
        files=[service.EvidenceFile(name=f.name, path=f.path) for f in staged],
        in_danger=form.in_danger.data == "yes",
    )


def process_report(form: ReportForm, *, channel: str, actor) -> service.Receipt | None:
    """Stage the uploads, apply the no-JavaScript buttons, validate, and submit when all is well."""
    token = current_token(form)
    refused = stage_uploads(token)
    if form.identity.data != "named":
        form.discard_contact()
    if request.form.get("remove_file") or form.add_party.data:
        if request.form.get("remove_file"):
            staging.remove(token, request.form["remove_file"])
        elif len(form.parties) < form.parties.max_entries:
            form.parties.append_entry()
        form.files.errors = refused
        return None
    valid = form.validate()
    if form.identity.data != "named":
        form.discard_contact()
    if refused:
        form.files.errors = [*form.files.errors, *refused]
        valid = False
    if not valid:
        return None
    staged = staging.list_staged(token)
    receipt = service.submit_report(report_data(form, staged), channel=channel, actor=actor)
    return receipt


def render_report(template: str, form: ReportForm, status: int = 200, **context):
    staged = staging.list_staged(form.staging_token.data)
    page = render_template(template, form=form, staged=staged, **context)
    response = make_response(page, status)
    # The empty form may be cached, so going back to it in the browser can restore what was typed;
    # a re-rendered form holds the reporter's words and is never stored.
    return no_store(response) if request.method == "POST" else response


def _report_limit() -> str:
    return current_app.config["REPORT_RATE_LIMIT"]


def _report_post_limit() -> str:
    return current_app.config["REPORT_POST_RATE_LIMIT"]


def _report_sent(response) -> bool:
    return response.status_code == 302


def _report_limited(_limit):
    """Over the limit, the form comes back with everything typed and a message, not an error page."""
    allow_uploads()
    form = ReportForm()
    current_token(form)
    if form.identity.data != "named":
        form.discard_contact()
    return render_report("intake/report.html", form, 429, limited=TOO_MANY_REPORTS)


@bp.route("/report", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, valid for a day (REPORT_CSRF_TIME_LIMIT)
@limiter.limit(_report_post_limit, methods=["POST"], on_breach=_report_limited)
@limiter.limit(_report_limit, methods=["POST"], deduct_when=_report_sent, on_breach=_report_limited)
def report():
    if request.method == "POST":
        allow_uploads()
    form = ReportForm()
    if request.method == "GET":
        form.staging_token.data = staging.new_token()
        return render_report("intake/report.html", form)
    receipt = process_report(form, channel="web", actor="reporter")
    if receipt is None:
        return render_report("intake/report.html", form)
    db.session.commit()
    staging.discard(form.staging_token.data)
    staging.purge_expired()  # lazy cleanup of forms abandoned long ago
    session[RECEIPT] = {"reference": receipt.reference, "key": receipt.key, "in_danger": receipt.case.in_danger}
    return redirect(url_for("intake.received"), code=302)


@bp.get("/report/received")
def received():
    receipt = session.pop(RECEIPT, None)
    page = render_template("intake/received.html", receipt=receipt)
    return no_store(make_response(page))


@bp.route("/staff/report", methods=["GET", "POST"])
@role_required("intake", "investigator")
def staff_report():
    if request.method == "POST":
        allow_uploads()
    form = StaffReportForm()
    if request.method == "GET":
        form.staging_token.data = staging.new_token()
        return render_report("intake/staff_report.html", form)
    channel = form.channel.data if form.channel.data in ("phone", "walk_in", "email") else "phone"
    receipt = process_report(form, channel=channel, actor=current_user._get_current_object())
    if receipt is None:
        return render_report("intake/staff_report.html", form)
    db.session.commit()
    staging.discard(form.staging_token.data)
    session[STAFF_RECEIPT] = {"reference": receipt.reference, "key": receipt.key}
    return redirect(url_for("intake.staff_received"), code=302)


@bp.get("/staff/report/recorded")
@role_required("intake", "investigator")
def staff_received():
    receipt = session.pop(STAFF_RECEIPT, None)
    page = render_template("intake/staff_received.html", receipt=receipt)
    return no_store(make_response(page))


@bp.cli.command("purge-staging", help="Remove staged report files and stray temporary files older than STAGING_HOURS.")
def purge_staging() -> None:
    removed = staging.purge_expired()
    stray = storage.purge_temporary(current_app.config["STAGING_HOURS"] * 3600)
    click.echo(f"Removed {removed} expired staging folder(s) and {stray} stray temporary file(s).")
