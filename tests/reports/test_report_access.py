"""Who may open the list, the dashboard and the exports: every role × every page."""

import pytest

ROLES = ("admin", "intake", "investigator", "conduct_officer", "police_liaison", "auditor")
PAGES = {
    "/cases/all": set(ROLES),
    "/dashboard": set(ROLES),
    "/cases/all.csv": {"admin", "intake", "investigator", "auditor"},
    "/reports/annual.csv?year=2025": {"admin", "intake", "auditor"},
}


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_report_pages_meant_for_it(client, login_as, role, url):
    login_as(role)
    expected = 200 if role in PAGES[url] else 403
    assert client.get(url).status_code == expected


@pytest.mark.parametrize("url", PAGES)
def test_signed_out_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
