"""Anti-abuse on the report form that never costs a real reporter their words."""

from sqlalchemy import func, select

from casework.models import Case
from tests.intake.conftest import NARRATIVE, report_form


def count(db):
    return db.session.scalar(select(func.count()).select_from(Case))


def test_sent_reports_are_limited_per_address_and_the_refused_one_keeps_its_text(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_RATE_LIMIT", "2 per hour")
    assert client.post("/report", data=report_form()).status_code == 302
    assert client.post("/report", data=report_form(narrative="")).status_code == 200  # a mistake does not count
    assert client.post("/report", data=report_form()).status_code == 302
    refused = client.post("/report", data=report_form(narrative=NARRATIVE + " Third report."))
    text = refused.get_data(as_text=True)
    assert refused.status_code == 429 and count(db) == 2
    assert "is not sent yet" in text and NARRATIVE + " Third report." in text
    assert 'value="@Fake_Profile.01"' in text
    other = client.post("/report", data=report_form(), environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 302 and count(db) == 3


def test_every_post_of_the_form_is_limited_too(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_POST_RATE_LIMIT", "3 per hour")
    for _ in range(3):
        assert client.post("/report", data=report_form(add_party="Add another person")).status_code == 200
    assert client.post("/report", data=report_form()).status_code == 429
    assert client.get("/report").status_code == 200  # reading the form is never limited


def test_the_honeypot_stops_a_bot_without_opening_a_case(client, db):
    response = client.post("/report", data=report_form(website="https://cheap-pills.example.com"))
    assert response.status_code == 200 and count(db) == 0


def test_the_honeypot_is_out_of_reach_of_people(client):
    text = client.get("/report").get_data(as_text=True)
    assert '<div class="honeypot" aria-hidden="true">' in text
    assert 'autocomplete="off" id="website" maxlength="200" name="website" tabindex="-1"' in text
