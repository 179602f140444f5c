"""Helpers for the document tests: a real case with planted personal data, evidence stored as intake stores it,
and the text and metadata of a PDF as poppler reads them."""

import io
import subprocess
import tempfile

import pytest
from PIL import Image

from casework import storage
from casework.cases import service
from casework.models import Evidence
from tests.factories import CaseBehaviourFactory, CaseFactory, CasePlatformFactory, EvidenceFactory, PartyFactory

REPORTER_NAME = "Quillon Marchetti-Vasquez"
REPORTER_EMAIL = "qmv.reporter7731@casework.example.edu"
REPORTER_PHONE = "413-555-0177"
NARRATIVE = "The account Zephyrine_Q posted my timetable with threats."


def png_bytes(size=(64, 48), color=(200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def store_evidence(case, content: bytes, name: str) -> Evidence:
    """A file kept through casework.storage, hashed as it is written, as intake keeps a reporter's upload."""
    stored = storage.save(io.BytesIO(content), name)
    return EvidenceFactory(
        case_id=case.id,
        kind="file",
        file_name=name,
        media_type=stored.media_type,
        size=stored.size,
        sha256=stored.sha256,
        storage_key=stored.key,
        url=None,
    )


@pytest.fixture
def named_case(db, make_user):
    """A triaged EOA case from a named reporter who did NOT consent to share their identity, a student
    respondent, a platform, a behaviour and one screenshot."""

    def make(**kwargs):
        values = dict(
            status="triaged",
            office="eoa",
            anonymous=False,
            reporter_name=REPORTER_NAME,
            reporter_email=REPORTER_EMAIL,
            reporter_phone=REPORTER_PHONE,
            reporter_affiliation="student",
            consent_share_identity=False,
            narrative=NARRATIVE,
            risk_level="high",
        )
        values.update(kwargs)
        case = CaseFactory(**values)
        PartyFactory(case=case, name="Respondent Ostrowski", handle="@zephyrine_q", affiliation="student")
        CasePlatformFactory(case_id=case.id, platform="instagram")
        CaseBehaviourFactory(case_id=case.id, behaviour="threats")
        db.session.refresh(case)
        return case

    return make


def refer(case, actor, office="conduct", reason="Respondent is an enrolled student; conduct code applies."):
    return service.transition(case, f"refer_{office}", actor, {"reason": reason}, case.version)


def pdftotext(data: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    )
    return out.stdout.decode()


def squeezed(data: bytes) -> str:
    """The text without any whitespace: hashes may be broken across lines."""
    out = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True)
    return "".join(out.stdout.decode().split())


def poppler(tool: str, data: bytes, *args: str) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(data)
        file.flush()
        return subprocess.run([tool, *args, file.name], capture_output=True, check=True).stdout.decode()


def pdfinfo(data: bytes) -> dict[str, str]:
    lines = poppler("pdfinfo", data).splitlines()
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines) if v}
