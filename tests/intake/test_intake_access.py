"""Intake access beyond the access matrix (tests/access/matrix_intake.py): what a refused or portal-less
request leaves behind, and where signed-out visitors find the report form."""

import pytest


def test_the_portal_needs_a_reference_and_key(client):
    response = client.get("/follow-up/report")
    assert response.status_code == 302 and response.location.endswith("/follow-up")


@pytest.mark.parametrize("role", ["admin", "conduct_officer", "police_liaison", "auditor"])
def test_other_roles_cannot_post_a_staff_report(client, db, login_as, role):
    from sqlalchemy import func, select

    from casework.models import Case
    from tests.intake.conftest import report_form

    login_as(role)
    assert client.post("/staff/report", data=report_form(channel="phone")).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_the_sign_in_page_links_to_the_report_form(client):
    assert 'href="/report"' in client.get("/login").get_data(as_text=True)
