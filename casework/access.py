"""The access policy: which cases a user may see, and what they may do with them.

Every staff query for cases starts from visible_cases(user); every case page loads through
load_case(...), which 404s when the user may not see the case and records the view
(DESIGN.md rule 1). Recusal and restriction are enforced here, once.
"""

from __future__ import annotations

from sqlalchemy import Select, and_, exists, false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.exceptions import Forbidden, NotFound

from casework import audit
from casework.extensions import db
from casework.models import Case, CaseAccessGrant, Recusal, Referral, User

INTAKE_STATES = ("received", "triaged")
CONTENT_ROLES = ("intake", "investigator", "conduct_officer", "police_liaison", "auditor")
REFERRAL_ROLES = {"conduct_officer": "conduct", "police_liaison": "umpd"}


def _not_recused(user: User) -> ColumnElement[bool]:
    return ~exists().where(Recusal.case_id == Case.id, Recusal.user_id == user.id)


def _restriction_allows(user: User) -> ColumnElement[bool]:
    granted = exists().where(CaseAccessGrant.case_id == Case.id, CaseAccessGrant.user_id == user.id)
    return or_(Case.restricted == false(), Case.assignee_id == user.id, granted)


def _ever_referred_to(office: str) -> ColumnElement[bool]:
    return exists().where(Referral.case_id == Case.id, Referral.office == office)


def visibility_clause(user: User) -> ColumnElement[bool]:
    """The SQL condition that selects the cases `user` may see."""
    if not user.active:
        return false()
    role = user.role
    if role in ("admin", "auditor"):
        # Administrators see references, states and counts; never content (see may_read_content).
        scope = true()
    elif role == "intake":
        scope = _restriction_allows(user)
    elif role == "investigator":
        scope = and_(or_(Case.office == "eoa", Case.status.in_(INTAKE_STATES)), _restriction_allows(user))
    elif role in REFERRAL_ROLES:
        scope = and_(_ever_referred_to(REFERRAL_ROLES[role]), _restriction_allows(user))
    else:
        return false()
    return and_(scope, _not_recused(user))


def visible_cases(user: User) -> Select[tuple[Case]]:
    """Every staff query for cases starts here."""
    return select(Case).where(visibility_clause(user))


def can_see(user: User, case: Case) -> bool:
    """Whether the case is visible to the user (recusal and restriction included)."""
    query = select(Case.id).where(Case.id == case.id, visibility_clause(user))
    return db.session.execute(query).first() is not None


def may_read_content(user: User) -> bool:
    """Administrators run the system but never read what is in a case."""
    return user.role in CONTENT_ROLES


def may_see_reporter_identity(user: User, case: Case) -> bool:
    """Conduct and UMPD see who reported only when the reporter consented."""
    if case.anonymous:
        return False
    return user.role not in REFERRAL_ROLES or case.consent_share_identity


def may_change(user: User) -> bool:
    """Auditors and administrators read or run; they never change a case."""
    return user.role in ("intake", "investigator", "conduct_officer", "police_liaison")


def load_case(user: User, reference: str, *, action: str = "case.view", record: bool = True) -> Case:
    """Load a case the user may see or 404 (no hint it exists); record the view."""
    case = db.session.execute(
        visible_cases(user).where(Case.reference == reference.strip().upper())
    ).scalar_one_or_none()
    if case is None:
        raise NotFound()
    if not may_read_content(user):
        raise Forbidden()
    if record:
        audit.record(action, user, case_id=case.id, object_type="case", object_id=case.id)
    return case
