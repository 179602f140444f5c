"""CSV exports: the filtered case list (content only for content roles) and the anonymous annual statistics."""

import csv
import html
import io
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from casework.models import AuditEntry
from tests import factories
from tests.reports.helpers import make_case, search_page


def _csv(response) -> list[dict]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_intake_exports_the_filtered_list_with_narratives_and_the_export_is_audited(client, login_as, db):
    user = login_as("intake")
    wanted = make_case(1, status="received", narrative="The account posted my timetable.")
    make_case(2, status="triaged")
    page = search_page(client, "timetable", state="received")
    download = html.unescape(re.search(r'href="(/cases/all\.csv\?[^"]+)"', page).group(1))
    assert "timetable" not in download and "search=" in download
    rows = _csv(client.get(download))
    assert [r["reference"] for r in rows] == [wanted.reference]
    assert rows[0]["narrative"] == "The account posted my timetable."
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export.cases")).one()
    assert entry.actor_id == user.id and entry.details["rows"] == 1
    assert entry.details["filters"] == ["state"] and entry.details["has_text"] is True
    assert "timetable" not in str(entry.details)


def test_an_export_address_written_with_words_is_moved_to_one_without_them(client, login_as):
    login_as("intake")
    wanted = make_case(1, status="received", narrative="The account posted my timetable.")
    make_case(2, status="received")
    response = client.get("/cases/all.csv?state=received&q=timetable")
    assert response.status_code == 303 and response.headers["Location"].startswith("/cases/all.csv?")
    assert "timetable" not in response.headers["Location"]
    assert [r["reference"] for r in _csv(client.get(response.headers["Location"]))] == [wanted.reference]


def test_admin_export_holds_references_states_and_offices_only(client, login_as):
    login_as("admin")
    make_case(1, status="triaged", narrative="Nothing of this reaches an administrator.", risk_level="high")
    rows = _csv(client.get("/cases/all.csv"))
    assert list(rows[0]) == ["reference", "state", "office", "reported_on"]
    assert rows[0]["state"] == "triaged" and rows[0]["office"] == "eoa"


def test_auditor_export_includes_narratives(client, login_as):
    login_as("auditor")
    make_case(1, narrative="Auditors read every case.")
    assert _csv(client.get("/cases/all.csv"))[0]["narrative"] == "Auditors read every case."


@pytest.mark.parametrize("role", ["conduct_officer", "police_liaison"])
def test_referral_offices_do_not_take_bulk_exports(client, login_as, role):
    login_as(role)
    assert client.get("/cases/all.csv").status_code == 403
    assert client.get("/reports/annual.csv?year=2025").status_code == 403


def test_export_never_holds_a_recused_case(client, login_as):
    user = login_as("investigator")
    kept = make_case(1, status="triaged")
    recused = make_case(2, status="triaged")
    factories.RecusalFactory(case_id=recused.id, user_id=user.id)
    assert [r["reference"] for r in _csv(client.get("/cases/all.csv"))] == [kept.reference]


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_defused(client, login_as):
    login_as("intake")
    make_case(1, narrative='=HYPERLINK("http://evil.example","click")')
    assert _csv(client.get("/cases/all.csv"))[0]["narrative"].startswith("'=HYPERLINK")


def test_export_with_bad_filters_explains_them(client, login_as):
    login_as("intake")
    response = client.get("/cases/all.csv?created_from=yesterday")
    assert response.status_code == 400 and "Not a valid date value" in response.get_data(as_text=True)


def test_annual_statistics_count_cases_without_any_reference_name_or_text(client, login_as, db):
    login_as("auditor")
    case = make_case(created_at=datetime(2025, 3, 10), status="closed", disposition="sanction_applied",
                     anonymous=False, reporter_name="Rowan Reporter", reporter_affiliation="faculty",
                     narrative="Sensitive words here.")  # fmt: skip
    factories.CasePlatformFactory(case_id=case.id, platform="reddit")
    factories.CaseBehaviourFactory(case_id=case.id, behaviour="hate")
    factories.PartyFactory(case=case, name="Rory Respondent")
    make_case(created_at=datetime(2025, 11, 2), office="conduct", status="referred_conduct")
    make_case(created_at=datetime(2024, 12, 31))  # another year
    response = client.get("/reports/annual.csv?year=2025")
    rows = {(r["measure"], r["category"]): int(r["cases"]) for r in _csv(response)}
    assert rows[("year", "2025")] == 2
    assert rows[("month", "2025-03")] == 1 and rows[("month", "2025-11")] == 1 and rows[("month", "2025-12")] == 0
    assert rows[("office", "eoa")] == 1 and rows[("office", "conduct")] == 1
    assert rows[("platform", "reddit")] == 1 and rows[("behaviour", "hate")] == 1
    assert (
        rows[("reporter_affiliation", "faculty")] == 1 and rows[("reporter_affiliation", "anonymous_or_not_given")] == 1
    )
    assert rows[("disposition", "sanction_applied")] == 1 and rows[("disposition", "open")] == 1
    body = response.get_data(as_text=True)
    for secret in ("OH-", "Rowan", "Rory", "Sensitive"):
        assert secret not in body
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export.annual")).one()
    assert entry.details == {"year": 2025}


@pytest.mark.parametrize("year", ["", "25", "abcd", "1999", "3000", "2025; DROP TABLE cases"])
def test_annual_statistics_refuse_a_bad_year_with_a_reason(client, login_as, year):
    login_as("admin")
    response = client.get("/reports/annual.csv", query_string={"year": year})
    assert response.status_code == 400 and "four digits" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/cases/all.csv", "/reports/annual.csv?year=2026"])
def test_an_export_asks_for_the_password_again_after_ten_minutes(client, login_as, url):
    login_as("auditor")
    with client.session_transaction() as session:
        session["reauth_at"] = 0
    response = client.get(url)
    assert response.status_code == 302 and "/account/confirm" in response.headers["Location"]
