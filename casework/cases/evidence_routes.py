"""Evidence download for staff: the stored file, as an attachment, never rendered by the browser."""

from __future__ import annotations

from flask import abort, send_file
from flask_login import current_user

from casework import access, storage
from casework.auth.decorators import role_required
from casework.cases.evidence_service import record_evidence_download
from casework.cases.routes import bp
from casework.extensions import db
from casework.models import Evidence
from casework.navigation import ALL_STAFF


@bp.get("/<reference>/evidence/<int:evidence_id>")
@role_required(*ALL_STAFF)
def evidence_download(reference: str, evidence_id: int):
    user = current_user._get_current_object()
    case = access.load_case(user, reference, action="evidence.download", record=False)
    evidence = db.session.get(Evidence, evidence_id)
    if evidence is None or evidence.case_id != case.id or evidence.kind != "file":
        abort(404)
    try:
        handle = storage.open_file(evidence.storage_key)
    except FileNotFoundError:
        abort(404)
    record_evidence_download(user, case, evidence)
    db.session.commit()
    response = send_file(
        handle,
        mimetype=evidence.media_type or "application/octet-stream",
        as_attachment=True,
        download_name=evidence.file_name or f"evidence-{evidence.id}",
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
