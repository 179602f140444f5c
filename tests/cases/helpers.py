"""Reading back what a case-work test did: audit entries and timeline events of a case."""

from sqlalchemy import select

from casework.models import AuditEntry, CaseEvent


def audit_actions(db, case) -> list[str]:
    query = select(AuditEntry.action).where(AuditEntry.case_id == case.id).order_by(AuditEntry.seq)
    return list(db.session.scalars(query))


def audit_entries(db, case, action: str) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.case_id == case.id, AuditEntry.action == action)
    return list(db.session.scalars(query.order_by(AuditEntry.seq)))


def events(db, case) -> list[CaseEvent]:
    return list(db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
