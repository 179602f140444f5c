"""Access matrix: the auditor's workspace. Auditors only; a case's history is a 404 where the case is not visible."""

from tests.access.matrix import Route, only

AUDITOR = only("auditor")

ROUTES = [
    Route("auditing.trail", "GET", lambda ctx: "/audit/", AUDITOR),
    Route("auditing.case_history", "GET", lambda ctx: f"/audit/cases/{ctx.case.reference}", AUDITOR, names_case=True),
    Route("auditing.verification", "GET", lambda ctx: "/audit/verification", AUDITOR),
    Route("auditing.verification", "POST", lambda ctx: "/audit/verification", AUDITOR),
    Route("auditing.export", "GET", lambda ctx: "/audit/export", AUDITOR),
    Route("auditing.export_verifier", "GET", lambda ctx: "/audit/export/verify_audit_export.py", AUDITOR),
]
