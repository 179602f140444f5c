"""Access matrix: the PDF documents of a case. 404 wherever the case is not visible; 403 for a role that may
not have the document (administrators never read content; only auditors print the audit history)."""

from tests import factories
from tests.access.matrix import Route, only

CONTENT = ("intake", "investigator", "conduct_officer", "police_liaison", "auditor")


def _with_referral(ctx):
    """Every case gets a referral to the office that holds it, so its packet exists (the situation is unchanged:
    a Conduct or UMPD case of the matrix is already referred there; an EOA case referred to EOA stays EOA's)."""
    if not ctx.case.referrals:
        factories.ReferralFactory(case_id=ctx.case.id, office=ctx.case.office)
        factories.db.session.refresh(ctx.case)


ROUTES = [
    Route(
        "cases.summary_pdf", "GET", lambda ctx: f"/cases/{ctx.case.reference}/summary.pdf", only(*CONTENT),
        names_case=True,
    ),
    Route(
        "cases.referral_pdf", "GET", lambda ctx: f"/cases/{ctx.case.reference}/referral.pdf", only(*CONTENT),
        names_case=True, setup=_with_referral,
    ),
    Route(
        "cases.audit_history_pdf", "GET", lambda ctx: f"/cases/{ctx.case.reference}/audit-history.pdf",
        only("auditor"), names_case=True,
    ),
]  # fmt: skip
