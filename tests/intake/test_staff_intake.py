"""Staff record a report taken by phone, in person or by email through the same checks."""

import pytest
from sqlalchemy import select

from casework.models import AuditEntry, CaseEvent, Evidence
from tests.intake.conftest import PNG, only_case, report_form, upload


@pytest.mark.parametrize("role", ["intake", "investigator"])
def test_intake_staff_record_a_phone_report_and_see_the_key_to_pass_on(client, db, login_as, role):
    user = login_as(role)
    data = report_form(
        channel="phone",
        identity="named",
        name="Caller Person",
        phone="413-555-0101",
        files=[upload(PNG, "emailed.png")],
    )
    response = client.post("/staff/report", data=data)
    assert response.status_code == 302 and response.location.endswith("/staff/report/recorded")
    case = only_case(db)
    assert case.channel == "phone" and case.created_by_id == user.id and case.reporter_name == "Caller Person"
    page = client.get(response.location).get_data(as_text=True)
    assert case.reference in page and 'id="follow-up-key"' in page and "shown only this once" in page
    assert 'id="follow-up-key"' not in client.get(response.location).get_data(as_text=True)
    created = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "case.created"))
    assert created.actor_kind == "user" and created.actor_id == user.id and created.details["channel"] == "phone"
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id))
    assert event.actor_kind == "user" and event.actor_id == user.id
    evidence = db.session.scalar(select(Evidence).where(Evidence.case_id == case.id, Evidence.kind == "file"))
    assert evidence.source == "staff" and evidence.uploaded_by_id == user.id


def test_a_walk_in_report_keeps_everything_on_an_error(client, db, login_as):
    login_as("intake")
    response = client.post("/staff/report", data=report_form(channel="walk_in", narrative=""))
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "Tell us what happened" in text
    assert '<option selected value="walk_in">' in text and 'value="@Fake_Profile.01"' in text


def test_the_staff_form_refuses_the_web_channel(client, db, login_as):
    login_as("intake")
    response = client.post("/staff/report", data=report_form(channel="web"))
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)


def test_the_navigation_offers_record_a_report_to_intake_staff(client, login_as):
    login_as("intake")
    assert 'href="/staff/report"' in client.get("/").get_data(as_text=True)
