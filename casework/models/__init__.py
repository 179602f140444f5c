"""All models, importable from one place."""

from casework.models.audit import AuditEntry
from casework.models.base import Base, utcnow
from casework.models.case import (
    Case,
    CaseAccessGrant,
    CaseBehaviour,
    CasePlatform,
    CaseTally,
    Party,
    Recusal,
    ReferenceCounter,
    Referral,
    ReporterKey,
    ReportTally,
    format_reference,
)
from casework.models.evidence import Evidence
from casework.models.timeline import CaseEvent, Message, Note
from casework.models.user import RecoveryCode, User

__all__ = [
    "AuditEntry",
    "Base",
    "Case",
    "CaseAccessGrant",
    "CaseBehaviour",
    "CaseEvent",
    "CasePlatform",
    "CaseTally",
    "Evidence",
    "Message",
    "Note",
    "Party",
    "RecoveryCode",
    "Recusal",
    "ReferenceCounter",
    "Referral",
    "ReportTally",
    "ReporterKey",
    "User",
    "format_reference",
    "utcnow",
]
