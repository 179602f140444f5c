"""Helpers for the intake tests: a filled-in report and small real files."""

import io
import re

import pytest
from sqlalchemy import select

from casework.models import Case

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
NARRATIVE = "A fake Instagram account uses my photos and messages my classmates pretending to be me."


def upload(content: bytes, name: str):
    return (io.BytesIO(content), name)


def report_form(**overrides) -> dict:
    """What a reporter sends when they fill in the whole form anonymously."""
    data = {
        "identity": "anonymous",
        "narrative": NARRATIVE,
        "parties-0-kind": "respondent",
        "parties-0-name": "Jordan Example",
        "parties-0-handle": "@Fake_Profile.01",
        "parties-0-platform": "instagram",
        "parties-0-affiliation": "student",
        "parties-0-relationship": "Classmate in CS 101",
        "parties-1-kind": "respondent",
        "parties-2-kind": "respondent",
        "platforms": ["instagram", "other"],
        "platform_other": "A campus forum",
        "began_on": "2026-10-03",
        "began_approximate": "y",
        "ongoing": "yes",
        "connected": "yes",
        "connection_details": "It started after my op-ed in the student paper: https://news.example.edu/op-ed",
        "behaviours": ["impersonation", "doxxing"],
        "links": "https://www.instagram.com/fake_profile_01/\nhttps://www.instagram.com/p/abc123/",
        "in_danger": "no",
        "website": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def staging_token(page: bytes) -> str:
    match = re.search(rb'name="staging_token" type="hidden" value="([^"]+)"', page)
    assert match, "the form carries a staging token"
    return match.group(1).decode()


def only_case(db) -> Case:
    cases = db.session.scalars(select(Case)).all()
    assert len(cases) == 1, cases
    return cases[0]


@pytest.fixture
def no_cases(db):
    def check():
        return db.session.scalars(select(Case)).all() == []

    return check


@pytest.fixture
def sent_report(client, db):
    """Send a report through the form; returns (case, reference, key) as the reporter saw them."""

    def send(**overrides):
        response = client.post("/report", data=report_form(**overrides))
        assert response.status_code == 302
        page = client.get(response.location).get_data(as_text=True)
        reference = re.search(r'id="reference">([^<]+)<', page).group(1)
        key = re.search(r'id="follow-up-key">([^<]+)<', page).group(1)
        case = db.session.scalar(select(Case).where(Case.reference == reference))
        return case, reference, key

    return send
