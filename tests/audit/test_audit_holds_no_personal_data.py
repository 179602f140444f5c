"""Audit entries hold ids, actions and field names only: no names, emails, narratives or reasons.

A retention purge deletes a case's content but never an audit entry, so nothing personal may be in one.
"""

import json

from sqlalchemy import select

from casework.models import AuditEntry
from tests import factories

SECRETS = (
    "Quinn Reporter",
    "quinn.reporter@casework.example.edu",
    "555-0199",
    "posting my photos",
    "Jordan Respondent",
    "@jordan_fake",
    "Sister of the respondent",
    "Ivy Investigator",
    "ivy.investigator@casework.example.edu",
    "Wrong-Password-9",
)


def _all_entries_text(db) -> str:
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert entries
    return "\n".join(
        json.dumps(
            [e.actor_kind, e.actor_id, e.action, e.object_type, e.object_id, e.case_id, e.details], ensure_ascii=False
        )
        for e in entries
    )


def test_a_working_session_leaves_no_personal_data_in_the_trail(client, db, make_user, login_as):
    investigator = make_user(
        "investigator", display_name="Ivy Investigator", email="ivy.investigator@casework.example.edu"
    )
    case = factories.CaseFactory(
        anonymous=False,
        reporter_name="Quinn Reporter",
        reporter_email="quinn.reporter@casework.example.edu",
        reporter_phone="555-0199",
        narrative="Someone keeps posting my photos and messaging my friends.",
    )
    factories.PartyFactory(case=case, name="Jordan Respondent", handle="@jordan_fake")
    intake = make_user("intake")
    auditor = make_user("auditor")

    # Sign-in failures with a real email and a wrong password; then real work.
    client.post("/login", data={"email": investigator.email, "password": "Wrong-Password-9"})
    login_as(intake)
    client.get(f"/cases/{case.reference}/access")
    client.post(
        f"/cases/{case.reference}/access/recusals",
        data={"user_id": investigator.id, "reason": "Sister of the respondent"},
    )
    client.post(f"/cases/{case.reference}/access/restricted", data={"restricted": "1"})
    client.get("/cases/access", query_string={"reference": case.reference})
    client.post("/logout")
    login_as(auditor)
    client.get("/audit/", query_string={"case": case.reference, "action": "case."})
    client.get(f"/audit/cases/{case.reference}")
    client.post("/audit/verification")
    client.get("/audit/export", query_string={"format": "csv"})

    trail = _all_entries_text(db)
    actions = {e.action for e in db.session.scalars(select(AuditEntry))}
    assert {"auth.login_failed", "case.recusal_added", "case.restriction_changed", "audit.exported"} <= actions
    leaked = [secret for secret in SECRETS if secret.lower() in trail.lower()]
    assert leaked == []


def test_every_detail_is_an_id_a_field_name_or_a_flag(client, db, make_user, login_as):
    login_as("intake")
    case = factories.CaseFactory()
    client.post(f"/cases/{case.reference}/access/grants", data={"user_id": make_user("investigator").id})
    for entry in db.session.scalars(select(AuditEntry)):
        for key, value in entry.details.items():
            values = value if isinstance(value, list) else [value]
            assert all(v is None or isinstance(v, int | bool) or (isinstance(v, str) and len(v) <= 64) for v in values)
            assert " " not in key
