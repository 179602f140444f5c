"""Bad input on the report form gets a message beside its field and loses nothing the reporter typed."""

import re

import pytest
from sqlalchemy import func, select

from casework.models import Case, Evidence
from tests.intake.conftest import HTML, NARRATIVE, PNG, only_case, report_form, staging_token, upload


def case_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Case))


def assert_everything_kept(text: str, *, narrative: str = NARRATIVE, changed: tuple = ()) -> None:
    """The re-rendered form still holds every answer of report_form() (but those the test changed)."""
    assert narrative in text
    for value in ("@Fake_Profile.01", "Jordan Example", "Classmate in CS 101", "A campus forum", "2026-10-03"):
        if value in changed:
            continue
        assert f'value="{value}"' in text, value
    assert "https://news.example.edu/op-ed" in text
    if "links" not in changed:
        assert "https://www.instagram.com/fake_profile_01/\nhttps://www.instagram.com/p/abc123/" in text
    for name, value in (("platforms", "instagram"), ("platforms", "other"), ("behaviours", "doxxing")):
        if value in changed:
            continue
        assert re.search(rf'<input checked id="{name}-\d+" name="{name}" type="checkbox" value="{value}">', text), value
    for name, value in (("ongoing", "yes"), ("connected", "yes"), ("in_danger", "no")):
        assert re.search(rf'<input checked id="{name}-\d+" name="{name}" type="radio" value="{value}">', text), value
    assert '<input checked id="began_approximate"' in text


INVALID = [
    ({"narrative": "   "}, "narrative", "Tell us what happened"),
    ({"narrative": NARRATIVE + "x" * 50_000}, "narrative", "limited to 50,000 characters"),
    ({"identity": "named", "email": "not-an-email"}, "email", "Enter an email address"),
    ({"identity": "named", "name": "Sam"}, "email", "Give an email address or a phone number"),
    ({"identity": "named", "phone": "call me maybe"}, "phone", "Enter a phone number"),
    ({"began_on": "2999-01-01"}, "began_on", "in the future"),
    ({"began_on": "last spring"}, "began_on", "Not a valid date"),
    ({"platform_other": ""}, "platform_other", "tell us which platform"),
    ({"behaviours": ["other"], "behaviour_other": ""}, "behaviour_other", "describe the behaviour"),
    ({"links": "https://ok.example.edu/a\njavascript:alert(1)"}, "links", "Line 2 is not a web address"),
    ({"parties-1-name": "N" * 201}, "parties-1-name", "Field cannot be longer than 200 characters"),
    ({"website": "http://spam.example.com"}, "website", "must be left empty"),
    ({"identity": "somebody"}, "identity", "Not a valid choice"),
]


@pytest.mark.parametrize(("change", "field_id", "message"), INVALID, ids=[case[1] for case in INVALID])
def test_each_validation_error_is_named_beside_its_field_and_keeps_all_input(client, db, change, field_id, message):
    data = report_form(**change)
    response = client.post("/report", data=data)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and case_count(db) == 0
    assert 'role="alert"' in text and "There is a problem" in text
    assert message in text
    if field_id != "website":  # the honeypot is hidden from people; only the summary names it
        assert f'id="{field_id}-error"' in text
    assert f'href="#{field_id}' in text
    if field_id == "began_on":
        assert f'value="{change["began_on"]}"' in text
        assert_everything_kept(text, changed=("2026-10-03",))
    elif field_id == "behaviour_other":
        assert_everything_kept(text, changed=("doxxing",))
    elif field_id == "links":
        assert "https://ok.example.edu/a\njavascript:alert(1)" in text
        assert_everything_kept(text, changed=("links",))
    elif field_id == "platform_other":
        assert_everything_kept(text, changed=("A campus forum",))
    elif field_id != "narrative":
        assert_everything_kept(text)


def test_a_named_reporter_keeps_their_contact_details_after_an_error(client, db):
    data = report_form(identity="named", name="Sam Reporter", email="sam@casework.example.edu", narrative="")
    text = client.post("/report", data=data).get_data(as_text=True)
    assert 'value="Sam Reporter"' in text and 'value="sam@casework.example.edu"' in text


def test_adding_a_person_without_javascript_keeps_everything_and_adds_a_row(client, db):
    response = client.post("/report", data=report_form(add_party="Add another person"))
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and case_count(db) == 0
    assert "Person 4" in text and 'id="parties-3-name"' in text and "There is a problem" not in text
    assert_everything_kept(text)


def test_accepted_files_wait_in_staging_when_another_is_refused(client, db):
    response = client.post(
        "/report",
        data=report_form(narrative="", files=[upload(PNG, "screenshot.png"), upload(HTML, "not-really.png")]),
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "not-really.png was not accepted: the name says a PNG image but its content is a web page (HTML)" in text
    assert "screenshot.png" in text and "Files ready to send (1)" in text
    token = staging_token(response.data)
    data = report_form(staging_token=token)
    assert client.post("/report", data=data).status_code == 302
    case = only_case(db)
    evidence = db.session.scalars(select(Evidence).where(Evidence.case_id == case.id, Evidence.kind == "file")).all()
    assert [e.file_name for e in evidence] == ["screenshot.png"]


def test_a_staged_file_can_be_removed_before_sending(client, db):
    first = client.post("/report", data=report_form(narrative="", files=[upload(PNG, "wrong-one.png")]))
    token = staging_token(first.data)
    file_id = re.search(rb'name="remove_file" value="([0-9a-f]+)"', first.data).group(1).decode()
    removed = client.post("/report", data=report_form(staging_token=token, remove_file=file_id))
    assert removed.status_code == 200 and "wrong-one.png" not in removed.get_data(as_text=True)
    assert_everything_kept(removed.get_data(as_text=True))
    client.post("/report", data=report_form(staging_token=token))
    assert db.session.scalar(select(func.count()).select_from(Evidence).where(Evidence.kind == "file")) == 0


REFUSED = [
    (b"", "empty.png", "the file is empty"),
    (HTML, "page.png", "its content is a web page (HTML)"),
    (HTML, "notes.txt", "its content is a web page (HTML)"),
    (b"PK\x03\x04 word document", "statement.docx", "we accept only PNG, JPEG or WebP screenshots"),
    (b"MZ\x90\x00 program", "photo.jpg", "the name says a JPEG image but its content is not a kind of file we accept"),
    (PNG, "screenshot.pdf", "the name says a PDF document but its content is a PNG image"),
    (b"\x00\x01\x02binary", "log.txt", "its content is not plain text"),
]


@pytest.mark.parametrize(("content", "name", "reason"), REFUSED, ids=[r[1] for r in REFUSED])
def test_unacceptable_files_are_refused_with_a_reason_and_nothing_else_is_lost(client, db, content, name, reason):
    response = client.post("/report", data=report_form(files=[upload(content, name)]))
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and case_count(db) == 0
    assert f"{name} was not accepted" in text and reason in text
    assert 'id="files-error"' in text
    assert_everything_kept(text)


def test_an_oversize_file_is_refused_and_the_rest_kept(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_FILE_MB", 0.1)
    big = PNG + b"\x00" * (110 * 1024)
    response = client.post("/report", data=report_form(files=[upload(big, "huge.png"), upload(PNG, "small.png")]))
    text = response.get_data(as_text=True)
    assert "huge.png was not accepted: it is larger than 0.1 MB" in text and "small.png" in text
    assert_everything_kept(text)


def test_the_files_of_one_report_are_limited_in_number_and_total_size(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_FILES", 2)
    files = [upload(PNG, "one.png"), upload(PNG, "two.png"), upload(PNG, "three.png")]
    text = client.post("/report", data=report_form(files=files)).get_data(as_text=True)
    assert "three.png was not accepted: a report can carry at most 2 files" in text
    monkeypatch.setitem(app.config, "MAX_FILES", 10)
    monkeypatch.setitem(app.config, "MAX_FILE_MB", 0.1)
    monkeypatch.setitem(app.config, "MAX_REPORT_MB", 0.1)
    half = PNG + b"\x00" * (60 * 1024)
    text = client.post("/report", data=report_form(files=[upload(half, "a.png"), upload(half, "b.png")])).get_data(
        as_text=True
    )
    assert "b.png was not accepted: the files of one report may add up to 0.1 MB at most" in text


def test_a_plain_text_file_is_accepted(client, db):
    client.post("/report", data=report_form(files=[upload("Messages copied from my phone: é ✓\n".encode(), "m.txt")]))
    evidence = db.session.scalar(select(Evidence).where(Evidence.kind == "file"))
    assert evidence.media_type == "text/plain"


def test_an_expired_form_comes_back_with_its_text_and_a_message_not_an_error_page(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    page = client.get("/report").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    monkeypatch.setitem(app.config, "REPORT_CSRF_TIME_LIMIT", -1)  # every token is now too old
    response = client.post("/report", data=report_form(csrf_token=token))
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and case_count(db) == 0
    assert "the form expired" in text
    assert_everything_kept(text)
    fresh = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text).group(1)
    monkeypatch.setitem(app.config, "REPORT_CSRF_TIME_LIMIT", 3600)
    assert client.post("/report", data=report_form(csrf_token=fresh)).status_code == 302


def test_a_report_without_a_csrf_token_is_not_accepted(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client.get("/report")
    response = client.post("/report", data=report_form())
    assert response.status_code == 200 and case_count(db) == 0


def test_the_form_stays_valid_for_a_day_by_default(app):
    assert app.config["REPORT_CSRF_TIME_LIMIT"] == 24 * 3600


def test_a_file_refused_while_adding_a_person_is_still_explained(client, db):
    data = report_form(add_party="Add another person", files=[upload(HTML, "fake.png"), upload(PNG, "real.png")])
    text = client.post("/report", data=data).get_data(as_text=True)
    assert "fake.png was not accepted" in text and "real.png" in text and "Person 4" in text


def test_the_day_it_began_is_checked_against_the_institutions_day_not_the_servers(client, db, app, monkeypatch):
    """Late in the evening at a US campus it is already tomorrow in UTC; far east of it, tomorrow comes first."""
    from datetime import date, datetime, timedelta
    from zoneinfo import ZoneInfo

    zone = next(
        z for z in ("Pacific/Kiritimati", "Pacific/Pago_Pago") if datetime.now(ZoneInfo(z)).date() != date.today()
    )
    monkeypatch.setitem(app.config, "TIMEZONE", zone)
    local_today = datetime.now(ZoneInfo(zone)).date()
    tomorrow = client.post("/report", data=report_form(began_on=(local_today + timedelta(days=1)).isoformat()))
    assert "in the future" in tomorrow.get_data(as_text=True) and case_count(db) == 0
    today = client.post("/report", data=report_form(began_on=local_today.isoformat()))
    assert today.status_code == 302, today.status_code
    assert only_case(db).began_on == local_today
