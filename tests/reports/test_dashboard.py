"""The dashboard: counts and timings over each user's scope, SVG charts with tables, a short cache."""

import re
import threading
from datetime import datetime, timedelta

import pytest

from casework.clock import local_today
from casework.reports import dashboard
from tests import factories
from tests.reports.helpers import make_case


def _dashboard(client) -> str:
    response = client.get("/dashboard")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _figure(page: str, heading: str) -> str:
    match = re.search(rf"<h2>{heading}</h2><p class=\"figure\">([\d,]+)</p>", page)
    return match.group(1) if match else ""


def _recent(days_ago: float) -> datetime:
    return datetime.utcnow().replace(microsecond=0) - timedelta(days=days_ago)  # noqa: DTZ003


def test_intake_sees_open_overdue_and_awaiting_acknowledgement_counts(client, login_as):
    login_as("intake")
    make_case(1, status="received", due_on=local_today() - timedelta(days=2))
    referred = make_case(2, status="referred_conduct", office="conduct")
    factories.ReferralFactory(case_id=referred.id, office="conduct")
    acknowledged = make_case(3, status="referred_umpd", office="umpd", acknowledged_at=datetime(2026, 3, 5))
    factories.ReferralFactory(case_id=acknowledged.id, office="umpd", acknowledged_at=datetime(2026, 3, 5))
    make_case(4, status="closed")
    page = _dashboard(client)
    assert _figure(page, "Open cases") == "3"
    assert _figure(page, "Overdue") == "1"
    assert _figure(page, "Awaiting acknowledgement") == "1"


def test_conduct_officer_counts_only_cases_referred_to_conduct(client, login_as):
    login_as("conduct_officer")
    referred = make_case(1, status="referred_conduct", office="conduct")
    factories.ReferralFactory(case_id=referred.id, office="conduct")
    make_case(2, status="received")
    make_case(3, status="triaged")
    assert _figure(_dashboard(client), "Open cases") == "1"


def test_admin_sees_counts_over_every_case_and_no_content(client, login_as):
    login_as("admin")
    make_case(1, status="received", narrative="A narrative no administrator reads.")
    make_case(2, status="triaged")
    page = _dashboard(client)
    assert _figure(page, "Open cases") == "2"
    assert "no administrator reads" not in page and "OH-" not in page


def test_weekly_reports_and_times_to_triage_and_to_close(client, login_as):
    user = login_as("intake")
    make_case(created_at=_recent(3), status="triaged", triaged_at=_recent(3) + timedelta(hours=10))
    reported = _recent(20)
    make_case(created_at=reported, status="closed", triaged_at=reported + timedelta(hours=30),
              closed_at=reported + timedelta(days=18))  # fmt: skip
    make_case(created_at=_recent(400), status="closed", triaged_at=_recent(399), closed_at=_recent(300))  # long ago
    figures = dashboard.compute_dashboard(user, local_today())
    assert figures.to_triage_hours.count == 2
    assert figures.to_triage_hours.median == pytest.approx(20.0, abs=0.01)  # 10 h and 30 h
    assert figures.to_close_days.median == pytest.approx(18.0, abs=0.01)
    assert sum(n for _, n in figures.weekly) == 2 and len(figures.weekly) == dashboard.WEEKS
    page = _dashboard(client)
    assert "20.0 h" in page and "18.0 days" in page


def test_platform_and_behaviour_charts_have_tables_and_no_inline_styles(client, login_as):
    login_as("intake")
    case = make_case(created_at=_recent(1))
    factories.CasePlatformFactory(case_id=case.id, platform="tiktok")
    factories.CaseBehaviourFactory(case_id=case.id, behaviour="doxxing")
    page = _dashboard(client)
    assert page.count("<svg") >= 4 and "style=" not in page
    assert '<td>TikTok</td><td class="num">1</td>' in page
    assert '<td>Sharing private information</td><td class="num">1</td>' in page


def test_figures_are_cached_briefly_per_role_and_apart_for_personal_exceptions(client, login_as, app, make_user):
    user = login_as("intake")
    make_case(1, status="received")
    app.config["DASHBOARD_CACHE_SECONDS"] = 60
    dashboard._cache.clear()
    try:
        assert _figure(_dashboard(client), "Open cases") == "1"
        recused_from = make_case(2, status="received")
        assert _figure(_dashboard(client), "Open cases") == "1"  # from the cache
        colleague = make_user("intake")
        assert dashboard.dashboard_for(colleague, local_today()).open_total == 1  # same role, same view: shared
        assert dashboard.dashboard_for(make_user("investigator"), local_today()).open_total == 2  # another role
        assert dashboard.dashboard_for(colleague, local_today()).open_total == 1
        make_case(3, status="received")
        recused = make_user("intake")
        factories.RecusalFactory(case_id=recused_from.id, user_id=recused.id)
        assert dashboard.dashboard_for(recused, local_today()).open_total == 2  # computed for them alone
        assert dashboard.dashboard_for(user, local_today()).open_total == 1
    finally:
        del app.config["DASHBOARD_CACHE_SECONDS"]
        dashboard._cache.clear()


def test_percentile_interpolates_between_the_counted_values():
    assert dashboard.percentile([], 0.5) is None
    assert dashboard.percentile([(4.0, 1)], 0.9) == 4.0
    assert dashboard.percentile([(1.0, 1), (2.0, 1), (3.0, 1), (4.0, 1)], 0.5) == 2.5
    assert dashboard.percentile([(float(n), 1) for n in range(11)], 0.9) == 9.0
    assert dashboard.percentile([(1.0, 3), (5.0, 1)], 0.5) == 1.0  # the values 1, 1, 1, 5
    assert dashboard.percentile([(1.0, 1), (5.0, 3)], 0.5) == 5.0  # the values 1, 5, 5, 5
    assert dashboard.percentile([(2.0, 2), (4.0, 2)], 0.5) == 3.0  # halfway between the 2nd and the 3rd


def test_a_busy_dashboard_is_served_from_the_cache_while_one_background_refresh_computes_its_successor(
    login_as, app, monkeypatch
):
    user = login_as("intake")
    make_case(1, status="received")
    app.config["DASHBOARD_CACHE_SECONDS"] = 60
    dashboard._cache.clear()
    started: list = []
    monkeypatch.setattr(dashboard, "in_background", started.append)
    monkeypatch.setattr(dashboard, "clock", lambda: 1000.0)
    try:
        assert dashboard.dashboard_for(user, local_today()).open_total == 1
        make_case(2, status="received")
        monkeypatch.setattr(dashboard, "clock", lambda: 1040.0)  # two thirds of its life: served as it is
        assert dashboard.dashboard_for(user, local_today()).open_total == 1 and not started
        monkeypatch.setattr(dashboard, "clock", lambda: 1050.0)  # past three quarters: served, and refreshed
        assert dashboard.dashboard_for(user, local_today()).open_total == 1
        assert dashboard.dashboard_for(user, local_today()).open_total == 1
        assert len(started) == 1  # one refresh at a time

        refresh = threading.Thread(target=started[0])  # its own thread and session, as in a worker
        refresh.start()
        refresh.join()
        assert dashboard.dashboard_for(user, local_today()).open_total == 2
        monkeypatch.setattr(dashboard, "clock", lambda: 1090.0)  # its life counts from when the refresh began
        assert dashboard.dashboard_for(user, local_today()).open_total == 2 and len(started) == 1
        make_case(3, status="received")
        monkeypatch.setattr(dashboard, "clock", lambda: 1111.0)  # nobody came for its last quarter: expired
        assert dashboard.dashboard_for(user, local_today()).open_total == 3
    finally:
        del app.config["DASHBOARD_CACHE_SECONDS"]
        dashboard._cache.clear()
