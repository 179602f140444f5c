"""Who may open the intake pages: the public ones are for anyone; recording a report is for EOA staff."""

import pytest

ROLES = ["admin", "intake", "investigator", "conduct_officer", "police_liaison", "auditor"]
PUBLIC = ["/report", "/report/received", "/follow-up"]


@pytest.mark.parametrize("url", PUBLIC)
def test_public_pages_open_without_an_account(client, url):
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", PUBLIC)
def test_public_pages_open_for_staff_too(client, login_as, role, url):
    login_as(role)
    assert client.get(url).status_code == 200


def test_the_portal_needs_a_reference_and_key(client):
    response = client.get("/follow-up/report")
    assert response.status_code == 302 and response.location.endswith("/follow-up")


@pytest.mark.parametrize(
    ("role", "status"),
    [(role, 200 if role in ("intake", "investigator") else 403) for role in ROLES],
)
@pytest.mark.parametrize("url", ["/staff/report", "/staff/report/recorded"])
def test_only_intake_staff_record_reports(client, login_as, role, status, url):
    login_as(role)
    assert client.get(url).status_code == status


@pytest.mark.parametrize("role", ["admin", "conduct_officer", "police_liaison", "auditor"])
def test_other_roles_cannot_post_a_staff_report(client, db, login_as, role):
    from sqlalchemy import func, select

    from casework.models import Case
    from tests.intake.conftest import report_form

    login_as(role)
    assert client.post("/staff/report", data=report_form(channel="phone")).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_signed_out_visitors_are_sent_to_sign_in_for_staff_intake(client):
    response = client.get("/staff/report")
    assert response.status_code == 302 and "/login" in response.location


def test_the_sign_in_page_links_to_the_report_form(client):
    assert 'href="/report"' in client.get("/login").get_data(as_text=True)
