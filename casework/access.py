"""The access policy: which cases a user may see, and what they may do with them.

Every staff query for cases starts from visible_cases(user); every case page loads through
load_case(...), which 404s when the user may not see the case and records the view
(DESIGN.md rule 1). Recusal and restriction are enforced here, once.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Select, and_, bindparam, exists, false, literal_column, or_, select, true
from sqlalchemy.sql.base import ExecutableOption
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.exceptions import Forbidden, NotFound

from casework import audit
from casework.extensions import db
from casework.models import Case, CaseAccessGrant, CaseTally, Recusal, ReportTally, User

INTAKE_STATES = ("received", "triaged")
CONTENT_ROLES = ("intake", "investigator", "conduct_officer", "police_liaison", "auditor")
REFERRAL_ROLES = {"conduct_officer": "conduct", "police_liaison": "umpd"}
ACCESS_MANAGER_ROLES = ("intake", "admin")
# Who may be named on a restricted case: the roles that work cases. Auditors see every case anyway;
# administrators never read content, so a grant would give them nothing.
GRANTABLE_ROLES = ("intake", "investigator", "conduct_officer", "police_liaison")
MAX_RECUSAL_REASON = 500


# The user's recusals and grants are a handful of case ids: as `[NOT] IN (their ids)` the database reads them
# once and probes the set for each case (PostgreSQL: a hashed subplan), where a correlated EXISTS would
# probe the table once per case (a pass over the open cases: 570 ms against 140 ms on a million).
# The ids are never NULL (foreign keys), so NOT IN means what it says.


def not_recused(user: User) -> ColumnElement[bool]:
    """Cases the user is not recused from (part of the visibility clause; counts of hidden cases use it alone)."""
    return _not_recused(user.id)


def _not_recused(user_id: int) -> ColumnElement[bool]:
    return Case.id.not_in(select(Recusal.case_id).where(Recusal.user_id == user_id))


def _restriction_allows(user_id: int) -> ColumnElement[bool]:
    granted = Case.id.in_(select(CaseAccessGrant.case_id).where(CaseAccessGrant.user_id == user_id))
    return or_(Case.restricted == false(), Case.assignee_id == user_id, granted)


def visibility_clause(user: User) -> ColumnElement[bool]:
    """The SQL condition that selects the cases `user` may see."""
    return _visibility_clause(user.id, user.role, user.active)


@lru_cache(maxsize=1024)
def _visibility_clause(user_id: int, role: str, active: bool) -> ColumnElement[bool]:
    """The condition depends on these three alone (recusals and grants are read by the query), and an SQL
    expression is immutable, so each user's is built once per worker instead of on every list and case page."""
    if not active:
        return false()
    scope = _role_scope(role, Case, _restriction_allows(user_id))
    return and_(scope, _not_recused(user_id))


def _role_scope(role: str, row, restriction_allows: ColumnElement[bool]) -> ColumnElement[bool]:
    """What a role sees, over `row`'s status, office and referral flags (a case, or a tally of cases);
    `restriction_allows` says which restricted cases it sees."""
    if role in ("admin", "auditor"):
        # Administrators see references, states and counts; never content (see may_read_content).
        return true()
    if role == "intake":
        return restriction_allows
    if role == "investigator":
        return and_(_investigator_scope(row), restriction_allows)
    if role in REFERRAL_ROLES:
        referred = {"conduct": row.referred_conduct, "umpd": row.referred_umpd}[REFERRAL_ROLES[role]]
        return and_(referred, restriction_allows)
    return false()


def _investigator_scope(row) -> ColumnElement[bool]:
    """EOA's cases and every case in intake, with the values written into the SQL (they are constants): a partial
    index serves a query only if its condition is in the query as written, and the investigator's (models.case,
    INVESTIGATOR_SCOPE) then serves every list, count and search of theirs. With the values as parameters, SQLite
    counted an investigator's closed cases by walking the closed cases of every office in the order of the
    offices' names (conduct's 130,000 before EOA's: 21 ms, against 0.4)."""
    office = literal_column("'eoa'")
    intake = [literal_column(f"'{state}'") for state in INTAKE_STATES]
    return or_(row.office == office, row.status.in_(intake))


def tally_scope(role: str, tally: type[CaseTally | ReportTally] = CaseTally) -> ColumnElement[bool]:
    """The tallies (reports.tallies: of cases, or of their platforms and behaviours) counting the cases that every
    user of `role` sees: the whole of what a user sees when sees_as_role(user) holds, for such a user has no
    recusal, grant or restricted case."""
    return _role_scope(role, tally, tally.restricted == false())


def sees_as_role(user: User) -> bool:
    """Whether the user sees exactly the cases every other user of their role sees: no recusal, no access
    grant, no restricted case assigned to them (the visibility clause then depends on the role alone)."""
    personal = or_(
        exists().where(Recusal.user_id == user.id),
        exists().where(CaseAccessGrant.user_id == user.id),
        exists().where(Case.assignee_id == user.id, Case.restricted == true()),
    )
    return user.active and not db.session.scalar(select(personal))


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


def find_visible_case(user: User, reference: str, options: tuple[ExecutableOption, ...] = ()) -> Case | None:
    """The case with this reference if the user may see it, else None (whether or not it exists).
    `options` are loader options for the page's needs, a module-level tuple (e.g. the assignee joined)."""
    reference = reference.strip().upper()
    if not reference or len(reference) > 20 or not reference.replace("-", "").isalnum():
        return None  # not a reference at all (PostgreSQL would even refuse a NUL byte): nothing to look up
    query = _case_by_reference(user.id, user.role, user.active, tuple(options))
    return db.session.execute(query, {"reference": reference}).unique().scalar_one_or_none()


@lru_cache(maxsize=1024)
def _case_by_reference(user_id: int, role: str, active: bool, options: tuple[ExecutableOption, ...]) -> Select:
    """visible_cases(user) for one reference, built once per user (and loader options) like the visibility clause:
    the reference is a parameter."""
    visible = _visibility_clause(user_id, role, active)
    return select(Case).where(visible, Case.reference == bindparam("reference")).options(*options)


def load_case(
    user: User,
    reference: str,
    *,
    action: str = "case.view",
    record: bool = True,
    options: tuple[ExecutableOption, ...] = (),
) -> Case:
    """Load a case the user may see or 404 (no hint it exists); record the view."""
    case = find_visible_case(user, reference, options)
    if case is None:
        raise NotFound()
    if not may_read_content(user):
        raise Forbidden()
    if record:
        audit.record(action, user, case_id=case.id, object_type="case", object_id=case.id)
    return case


def load_case_reference(user: User, reference: str, *, roles: tuple[str, ...], action: str | None = None) -> Case:
    """Load a case for a page that names it: 404 if the user may not see it, then 403 if the role may not use
    the page; record the view when `action` is given. Pages for administrators show no content."""
    case = find_visible_case(user, reference)
    if case is None:
        raise NotFound()
    if user.role not in roles:
        raise Forbidden()
    if action:
        audit.record(action, user, case_id=case.id, object_type="case", object_id=case.id)
    return case


# --- Recusal and restriction: who else may see a case ---------------------------------------------------


class AccessChangeError(ValueError):
    """A recusal or grant that cannot be made, with a message for the form field it concerns."""

    def __init__(self, message: str, field: str = "user_id") -> None:
        super().__init__(message)
        self.field = field


def may_manage_access(user: User) -> bool:
    """Intake coordinators and administrators manage recusals and restriction (administrators by reference)."""
    return user.active and user.role in ACCESS_MANAGER_ROLES


def _require_manager(actor: User, case: Case) -> None:
    if not can_see(actor, case):
        raise NotFound()
    if not may_manage_access(actor):
        raise Forbidden()


def _recusal(case: Case, user: User) -> Recusal | None:
    return db.session.execute(
        select(Recusal).where(Recusal.case_id == case.id, Recusal.user_id == user.id)
    ).scalar_one_or_none()


def _grant(case: Case, user: User) -> CaseAccessGrant | None:
    return db.session.execute(
        select(CaseAccessGrant).where(CaseAccessGrant.case_id == case.id, CaseAccessGrant.user_id == user.id)
    ).scalar_one_or_none()


def recuse(actor: User, case: Case, user: User, reason: str | None) -> Recusal:
    """Keep `user` away from `case` (conflict of interest): it vanishes for them everywhere."""
    _require_manager(actor, case)
    reason = (reason or "").strip()
    if not reason:
        raise AccessChangeError("Say why this person is recused (kept with the case, not in the trail).", "reason")
    if len(reason) > MAX_RECUSAL_REASON:
        raise AccessChangeError(f"Keep the reason under {MAX_RECUSAL_REASON} characters.", "reason")
    if _recusal(case, user) is not None:
        raise AccessChangeError(f"{user.display_name} is already recused from this case.")
    if case.assignee_id == user.id:
        raise AccessChangeError(f"{user.display_name} is assigned to this case: assign someone else first.")
    recusal = Recusal(case_id=case.id, user_id=user.id, reason=reason, created_by_id=actor.id)
    db.session.add(recusal)
    db.session.flush()
    audit.record(
        "case.recusal_added",
        actor,
        case_id=case.id,
        object_type="recusal",
        object_id=recusal.id,
        details={"user_id": user.id},
    )
    return recusal


def lift_recusal(actor: User, case: Case, user: User) -> None:
    """Let a recused user see the case again."""
    _require_manager(actor, case)
    recusal = _recusal(case, user)
    if recusal is None:
        raise AccessChangeError(f"{user.display_name} is not recused from this case.")
    recusal_id = recusal.id
    db.session.delete(recusal)
    db.session.flush()
    audit.record(
        "case.recusal_lifted",
        actor,
        case_id=case.id,
        object_type="recusal",
        object_id=recusal_id,
        details={"user_id": user.id},
    )


def set_restricted(actor: User, case: Case, restricted: bool) -> None:
    """Restrict a case to its assignee and named users, or lift the restriction."""
    _require_manager(actor, case)
    if case.restricted == restricted:
        return
    case.restricted = restricted
    db.session.flush()
    audit.record(
        "case.restriction_changed",
        actor,
        case_id=case.id,
        object_type="case",
        object_id=case.id,
        details={"restricted": restricted},
    )
    # An intake coordinator who restricts a case keeps it (and can go on naming people on it); administrators
    # see every reference anyway.
    if restricted and actor.role in GRANTABLE_ROLES and case.assignee_id != actor.id and _grant(case, actor) is None:
        _add_grant(actor, case, actor)


def grant_access(actor: User, case: Case, user: User) -> CaseAccessGrant:
    """Name a user who may see the case while it is restricted."""
    _require_manager(actor, case)
    if user.role not in GRANTABLE_ROLES:
        raise AccessChangeError("Only staff who work cases can be named on a restricted case.")
    if not user.active:
        raise AccessChangeError(f"{user.display_name}'s account is deactivated.")
    if _recusal(case, user) is not None:
        raise AccessChangeError(f"{user.display_name} is recused from this case: lift the recusal first.")
    if _grant(case, user) is not None:
        raise AccessChangeError(f"{user.display_name} is already named on this case.")
    return _add_grant(actor, case, user)


def _add_grant(actor: User, case: Case, user: User) -> CaseAccessGrant:
    grant = CaseAccessGrant(case_id=case.id, user_id=user.id, granted_by_id=actor.id)
    db.session.add(grant)
    db.session.flush()
    audit.record(
        "case.access_granted",
        actor,
        case_id=case.id,
        object_type="access_grant",
        object_id=grant.id,
        details={"user_id": user.id},
    )
    return grant


def revoke_access(actor: User, case: Case, user: User) -> None:
    """Remove a named user from a restricted case."""
    _require_manager(actor, case)
    grant = _grant(case, user)
    if grant is None:
        raise AccessChangeError(f"{user.display_name} is not named on this case.")
    grant_id = grant.id
    db.session.delete(grant)
    db.session.flush()
    audit.record(
        "case.access_revoked",
        actor,
        case_id=case.id,
        object_type="access_grant",
        object_id=grant_id,
        details={"user_id": user.id},
    )


def look_up_case(user: User, reference: str) -> Case | None:
    """Find a case by reference for the access page (administrators type it); the search is recorded."""
    case = find_visible_case(user, reference)
    audit.record("case.access_lookup", user, case_id=case.id if case else None, details={"found": case is not None})
    return case


def staff_choices(roles: tuple[str, ...] | None = None) -> list[User]:
    """Active staff accounts (optionally of some roles), by name, to pick from on the access page."""
    query = select(User).where(User.active.is_(True)).order_by(User.display_name)
    if roles:
        query = query.where(User.role.in_(roles))
    return list(db.session.scalars(query))


def recusals_for(case: Case) -> list[tuple[Recusal, User]]:
    """The case's recusals with the recused users, oldest first."""
    query = select(Recusal, User).join(User, User.id == Recusal.user_id).where(Recusal.case_id == case.id)
    return [(r, u) for r, u in db.session.execute(query.order_by(Recusal.id))]


def grants_for(case: Case) -> list[tuple[CaseAccessGrant, User]]:
    """The users named on the case, oldest first."""
    query = (
        select(CaseAccessGrant, User)
        .join(User, User.id == CaseAccessGrant.user_id)
        .where(CaseAccessGrant.case_id == case.id)
    )
    return [(g, u) for g, u in db.session.execute(query.order_by(CaseAccessGrant.id))]
