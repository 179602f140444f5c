"""Figures for the home page and dashboards, always over the cases a user may see."""

from sqlalchemy import func, select

from casework.access import visibility_clause
from casework.extensions import db
from casework.models import Case, User


def count_cases_by_state(user: User) -> dict[str, int]:
    """How many visible cases are in each state."""
    query = select(Case.status, func.count()).where(visibility_clause(user)).group_by(Case.status)
    return dict(db.session.execute(query).all())


def count_active_accounts() -> dict[str, int]:
    """Active accounts per role (for administrators)."""
    query = select(User.role, func.count()).where(User.active.is_(True)).group_by(User.role)
    return dict(db.session.execute(query).all())
