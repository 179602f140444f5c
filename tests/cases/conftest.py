"""Helpers for the case-work tests: cases in a given workflow state, and the audit entries of a case."""

import pytest

from casework.models import utcnow
from tests.factories import CaseFactory, PartyFactory, ReferralFactory

STATE_OFFICE = {"referred_conduct": "conduct", "referred_umpd": "umpd"}


@pytest.fixture
def make_case(db):
    """A case in `status`, consistent with it: referrals for referred states, a disposition when closed."""

    def make(status: str = "received", *, student_respondent: bool = False, **kwargs):
        kwargs.setdefault("office", STATE_OFFICE.get(status, "eoa"))
        if status == "closed":
            kwargs.setdefault("closed_at", utcnow())
            kwargs.setdefault("disposition", "resolved")
            kwargs.setdefault("closing_summary", "Resolved with the reporter.")
        case = CaseFactory(status=status, **kwargs)
        if status.startswith("referred_"):
            ReferralFactory(case_id=case.id, office=kwargs["office"])
        if student_respondent:
            PartyFactory(case=case, affiliation="student")
        db.session.refresh(case)
        return case

    return make
