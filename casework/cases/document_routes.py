"""PDF documents of a case: the case summary, a referral packet, the audit history. HTTP only."""

from __future__ import annotations

from flask import Response, abort, request
from flask_login import current_user, login_required

from casework import access, documents
from casework.cases.routes import bp
from casework.errors import render_error
from casework.extensions import db
from casework.pdf import PDFRenderError


def _load(reference: str, roles: tuple[str, ...]):
    # 404 when the case is not visible, 403 when the role may not have this document. The view is recorded by
    # the pdf.generated entry (with the PDF's hash), not by a separate case.view entry.
    return access.load_case_reference(current_user, reference, roles=roles)


def _send(document: documents.Document):
    user = current_user._get_current_object()
    # Everything is read: end the read transaction before WeasyPrint works (up to the time limit), so the
    # render holds neither SQLite's write lock (every transaction begins IMMEDIATE) nor a pooled connection.
    db.session.rollback()
    try:
        rendered = documents.render_document(document)
    except PDFRenderError:
        documents.record_failed(user, document)
        db.session.commit()
        return render_error(
            503,
            "The PDF could not be made just now (it took too long or was too large). "
            "Nothing was lost: try again in a moment, and tell the administrator if it keeps happening.",
        )
    documents.record_generated(user, document, rendered)
    db.session.commit()
    response = Response(rendered.data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/<reference>/summary.pdf")
@login_required
def summary_pdf(reference: str):
    case = _load(reference, documents.SUMMARY_ROLES)
    return _send(documents.case_summary(case, current_user))


@bp.get("/<reference>/referral.pdf")
@login_required
def referral_pdf(reference: str):
    case = _load(reference, documents.REFERRAL_ROLES)
    referral_id = None
    if "referral" in request.args:
        text = request.args["referral"]
        if not (text.isdigit() and len(text) < 10):
            abort(404)
        referral_id = int(text)
    referral = documents.choose_referral(case, current_user, referral_id)
    if referral is None:
        if referral_id is not None:
            abort(404)
        return render_error(404, f"Case {case.reference} has no referral whose packet you may print.")
    if not documents.may_print_referral(current_user, referral):
        abort(403)
    return _send(documents.referral_packet(case, current_user, referral))


@bp.get("/<reference>/audit-history.pdf")
@login_required
def audit_history_pdf(reference: str):
    case = _load(reference, documents.AUDIT_HISTORY_ROLES)
    return _send(documents.audit_history(case, current_user))
