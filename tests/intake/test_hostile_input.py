"""No 500 on hostile text in any field: very long, control characters, NUL, bidi marks, emoji, markup, SQL."""

import pytest
from sqlalchemy import select

from casework.models import Case, Party
from tests.intake.conftest import report_form

HOSTILE = {
    "very_long": "A" * 60_000,
    "control_characters": "line\x00with\x01NUL\x07and\x1bescape\x7f\x9b",
    "right_to_left": "\u202egnp.exe\u202c \u200f\u061c\u2067مرحبا\u2069",
    "emoji": "👩🏽‍💻🔥💀" * 50 + "\U0001f9d1\u200d\U0001f91d\u200d\U0001f9d1",
    "markup": '<script>alert("x")</script><img src=x onerror=alert(1)>{{ 7*7 }}{% raw %}',
    "sql": "'; DROP TABLE cases; -- \" OR 1=1 /* \\",
    "lookalikes": "ｆａｋｅ＿ｐｒｏｆｉｌｅ" * 20 + "ﷺ" * 30,
    "grows_under_nfc": "\u0958" * 200,
}
TEXT_FIELDS = (
    "narrative",
    "name",
    "email",
    "phone",
    "platform_other",
    "connection_details",
    "behaviour_other",
    "links",
    "parties-0-name",
    "parties-0-handle",
    "parties-0-relationship",
    "parties-1-handle",
)
CHOICE_FIELDS = ("identity", "affiliation", "contact_preference", "ongoing", "connected", "in_danger", "platforms",
                 "behaviours", "parties-0-kind", "parties-0-platform", "parties-0-affiliation", "began_on")  # fmt: skip


@pytest.mark.parametrize("identity", ["anonymous", "named"])
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_text_in_every_field_never_breaks_the_form(client, db, kind, identity):
    text = HOSTILE[kind]
    data = report_form(identity=identity, **{name: text for name in TEXT_FIELDS})
    response = client.post("/report", data=data)
    assert response.status_code in (200, 302), response.status_code
    page = response.get_data(as_text=True)
    assert "<script>alert" not in page
    if response.status_code == 200:
        assert "There is a problem" in page


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_text_in_every_choice_is_refused_politely(client, db, kind):
    data = report_form(**{name: HOSTILE[kind] for name in CHOICE_FIELDS})
    response = client.post("/report", data=data)
    assert response.status_code == 200 and "There is a problem" in response.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["control_characters", "right_to_left", "emoji", "markup", "sql"])
def test_hostile_but_acceptable_text_is_stored_without_control_characters(client, db, kind):
    text = HOSTILE[kind]
    data = report_form(narrative=text, **{"parties-0-handle": text[:200], "parties-0-name": text[:200]})
    assert client.post("/report", data=data).status_code == 302
    case = db.session.scalar(select(Case))
    assert "\x00" not in case.narrative and "\x1b" not in case.narrative
    party = db.session.scalar(select(Party))
    assert party.handle_normalized is None or len(party.handle_normalized) <= 200


def test_a_long_handle_of_expanding_characters_is_stored(client, db):
    handle = "ﷺ" * 200  # NFKC turns each into 18 characters
    assert client.post("/report", data=report_form(**{"parties-0-handle": handle})).status_code == 302
    party = db.session.scalar(select(Party))
    assert party.handle == handle and len(party.handle_normalized) == 200


def test_hostile_uploads_and_names_never_break_the_form(client, db):
    import io

    files = [
        (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10), "../../etc/passwd.png"),
        (io.BytesIO(b"%PDF-1.4"), "\u202efdp.exe"),
        (io.BytesIO(b"hello"), "a" * 1000 + ".txt"),
        (io.BytesIO(b"<svg onload=alert(1)>"), "x.png"),
    ]
    response = client.post("/report", data=report_form(narrative="", files=files))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "passwd.png" in page and "../" not in page.split("Files ready to send")[1].split("</ul>")[0]


def test_a_hostile_staging_token_is_replaced_not_trusted(client, db):
    for token in ("../../../etc", "x" * 5000, "\x00", ""):
        response = client.post("/report", data=report_form(narrative="", staging_token=token))
        assert response.status_code == 200
    assert client.post("/report", data=report_form(staging_token="../../secret", remove_file="../x")).status_code == 200


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_text_in_the_follow_up_sign_in_gets_the_generic_answer_or_a_field_message(client, db, kind):
    response = client.post("/follow-up", data={"reference": HOSTILE[kind], "key": HOSTILE[kind]})
    assert response.status_code == 200
    assert "<script>alert" not in response.get_data(as_text=True)


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_text_in_a_follow_up_message_never_breaks_the_portal(client, db, sent_report, kind):
    _case, reference, key = sent_report()
    client.post("/follow-up", data={"reference": reference, "key": key})
    response = client.post("/follow-up/report", data={"message": HOSTILE[kind], "links": HOSTILE[kind]})
    assert response.status_code in (200, 302)
    page = client.get("/follow-up/report")
    assert page.status_code == 200 and "<script>alert" not in page.get_data(as_text=True)


FREE_TEXT_FIELDS = ("narrative", "name", "platform_other", "connection_details", "behaviour_other",
                    "parties-0-name", "parties-0-handle", "parties-0-relationship", "parties-1-name")  # fmt: skip


@pytest.mark.parametrize("kind", [k for k in HOSTILE if k != "very_long"])
def test_hostile_text_that_fits_is_stored_in_every_free_text_field(client, db, kind):
    text = HOSTILE[kind][:200]
    data = report_form(
        identity="named",
        email="sam@casework.example.edu",
        behaviours=["other"],
        **dict.fromkeys(FREE_TEXT_FIELDS, text),
    )
    response = client.post("/report", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    case = db.session.scalar(select(Case))
    assert case.reporter_name and "\x00" not in case.reporter_name and "\x00" not in case.narrative


def test_a_form_part_without_a_name_is_ignored_by_the_report_form(client, db):
    body = (
        b"--b\r\nContent-Disposition: form-data\r\n\r\nnameless\r\n"
        b'--b\r\nContent-Disposition: form-data; filename="x.png"\r\n\r\n\x89PNG\r\n'
        b'--b\r\nContent-Disposition: form-data; name="narrative"\r\n\r\nThey keep posting my photos.\r\n'
        b'--b\r\nContent-Disposition: form-data; name="identity"\r\n\r\nanonymous\r\n--b--\r\n'
    )
    response = client.post("/report", data=body, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 302
    assert db.session.scalar(select(Case)).narrative == "They keep posting my photos."
