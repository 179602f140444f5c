"""Evidence as staff receive it: every download is written to the audit trail."""

from __future__ import annotations

from casework import audit, storage
from casework.models import Case, Evidence, User


def record_evidence_download(user: User, case: Case, evidence: Evidence) -> bool:
    """Audit a download with the evidence id and its hash; returns whether the file still matches that hash."""
    intact = storage.sha256_of(evidence.storage_key) == evidence.sha256
    audit.record(
        "evidence.download",
        user,
        case_id=case.id,
        object_type="evidence",
        object_id=evidence.id,
        details={"sha256": evidence.sha256, "intact": intact},
    )
    return intact
