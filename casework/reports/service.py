"""Figures for the home page and dashboards, always over the cases a user may see."""

from contextlib import contextmanager

from sqlalchemy import func, select

from casework.access import visibility_clause
from casework.extensions import db
from casework.models import Case, User
from casework.vocabulary import CASE_ROLES


def count_cases_by_state(user: User) -> dict[str, int]:
    """How many visible cases are in each state."""
    query = select(Case.status, func.count()).where(visibility_clause(user)).group_by(Case.status)
    return dict(db.session.execute(query).all())


def count_active_accounts() -> dict[str, int]:
    """Active accounts per role (for administrators)."""
    query = select(User.role, func.count()).where(User.active.is_(True)).group_by(User.role)
    return dict(db.session.execute(query).all())


_ASSIGNABLE_STAFF = (
    select(User.id, User.display_name)
    .where(User.active.is_(True), User.role.in_(CASE_ROLES))
    .order_by(User.display_name, User.id)
)


def assignable_staff() -> dict[str, str]:
    """Active case workers by id, for the "assigned to" filter (on every case list page: the statement is
    built once)."""
    return {str(user_id): name for user_id, name in db.session.execute(_ASSIGNABLE_STAFF)}


@contextmanager
def loaded_objects_kept_after_commit():
    """Commit without expiring what is loaded (the signed-in user), so rendering the page afterwards
    issues no query: on SQLite a query would open a new write transaction, holding the database
    lock through the rendering while other requests wait."""
    session = db.session()
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = True
