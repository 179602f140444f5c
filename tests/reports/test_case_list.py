"""The filtered list of every case a user may see (/cases/all): filters, keyset pages, counts, audit."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from casework.models import AuditEntry
from casework.reports import listing
from tests import factories
from tests.reports.helpers import BASE, make_case, references, result_heading, search_page

ROLES = ("admin", "intake", "investigator", "conduct_officer", "police_liaison", "auditor")


def _page(client, query: str = "") -> str:
    response = client.get(f"/cases/all{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_every_staff_role_can_open_the_case_list(client, login_as, role):
    login_as(role)
    assert "Show cases" in _page(client)


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get("/cases/all")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_intake_filters_by_state_office_risk_urgent_and_disposition(client, login_as):
    login_as("intake")
    received = make_case(1, status="received")
    high = make_case(2, status="triaged", risk_level="high", urgent=True)
    conduct = make_case(3, status="referred_conduct", office="conduct")
    closed = make_case(4, status="closed", disposition="no_policy_violation")
    assert references(_page(client, "?state=received")) == [received.reference]
    assert references(_page(client, "?state=open")) == [conduct.reference, high.reference, received.reference]
    assert references(_page(client, "?office=conduct")) == [conduct.reference]
    assert references(_page(client, "?risk=high")) == [high.reference]
    assert references(_page(client, "?urgent=y")) == [high.reference]
    assert references(_page(client, "?disposition=no_policy_violation")) == [closed.reference]


def test_filters_by_platform_behaviour_and_assignee(client, login_as, make_user):
    me = login_as("investigator")
    colleague = make_user("investigator", display_name="Ines Colleague")
    on_discord = make_case(1, status="triaged", assignee_id=me.id)
    factories.CasePlatformFactory(case_id=on_discord.id, platform="discord")
    doxxing = make_case(2, status="triaged", assignee_id=colleague.id)
    factories.CaseBehaviourFactory(case_id=doxxing.id, behaviour="doxxing")
    nobody = make_case(3, status="triaged")
    assert references(_page(client, "?platform=discord")) == [on_discord.reference]
    assert references(_page(client, "?behaviour=doxxing")) == [doxxing.reference]
    assert references(_page(client, "?assignee=me")) == [on_discord.reference]
    assert references(_page(client, f"?assignee={colleague.id}")) == [doxxing.reference]
    assert references(_page(client, "?assignee=none")) == [nobody.reference]
    assert "Ines Colleague" in _page(client)  # the assignee column


def test_overdue_filter_and_tag(client, login_as):
    login_as("intake")
    late = make_case(1, status="triaged", due_on=date.today() - timedelta(days=3))
    make_case(2, status="triaged", due_on=date.today() + timedelta(days=3))
    page = _page(client, "?overdue=y")
    assert references(page) == [late.reference]
    assert 'class="tag tag-overdue">Overdue' in page


def test_date_range_keeps_cases_reported_on_both_end_days(client, login_as):
    login_as("intake")
    make_case(0, created_at=BASE - timedelta(days=1))
    first_day = make_case(0)
    last_day = make_case(60 * 24 + 600)  # the next day, 19:00
    page = _page(client, "?created_from=2026-03-02&created_to=2026-03-03")
    assert references(page) == [last_day.reference, first_day.reference]


def test_a_range_to_the_last_day_of_the_calendar_keeps_every_case(client, login_as):
    login_as("intake")
    cases = [make_case(n) for n in range(2)]
    expected = [c.reference for c in reversed(cases)]
    assert references(_page(client, "?created_from=0001-01-01&created_to=9999-12-31")) == expected
    export = client.get("/cases/all.csv?created_to=9999-12-31")
    assert export.status_code == 200 and all(ref in export.get_data(as_text=True) for ref in expected)


def test_bad_filters_are_explained_next_to_their_field(client, login_as):
    login_as("intake")
    page = _page(client, "?created_from=31/02/2026&state=nonsense&created_to=2020-01-01")
    assert "Not a valid date value" in page and "Not a valid choice" in page
    assert "There is a problem" in page and "cases</h2>" not in page


@pytest.mark.parametrize("assignee", ["nonsense", "999999", "departed"])
def test_an_assignee_filter_naming_no_active_case_worker_is_refused(client, login_as, make_user, assignee):
    login_as("intake")
    if assignee == "departed":
        assignee = str(make_user("investigator", active=False).id)
    page = _page(client, f"?assignee={assignee}&state=open")
    assert "Not a valid choice" in page and "cases</h2>" not in page
    assert '<option value="open" selected>' in page  # the other filters are kept


def test_end_date_before_start_date_is_refused_with_a_reason(client, login_as):
    login_as("intake")
    page = _page(client, "?created_from=2026-05-01&created_to=2026-04-01")
    assert "before the “Reported from” date" in page


@pytest.mark.parametrize("sort", ["newest", "oldest", "due"])
def test_keyset_pages_walk_every_case_once_in_order(client, login_as, sort):
    login_as("intake")
    cases = [make_case(n, status="triaged", due_on=date(2026, 4, 1) + timedelta(days=n % 7) if n % 3 else None)
             for n in range(60)]  # fmt: skip
    if sort == "newest":
        expected = [c.reference for c in sorted(cases, key=lambda c: (c.created_at, c.id), reverse=True)]
    elif sort == "oldest":
        expected = [c.reference for c in sorted(cases, key=lambda c: (c.created_at, c.id))]
    else:
        expected = [c.reference for c in sorted(cases, key=lambda c: (c.due_on is None, c.due_on or date.min, c.id))]
    seen, query, pages = [], f"?sort={sort}&per_page=25", 0
    while True:
        page = _page(client, query)
        seen += references(page)
        pages += 1
        assert result_heading(page) == "60 cases"  # counted on page 1, carried by the cursor
        link = re.search(r'href="[^"]*?(\?[^"]*after=[^"]+)"', page)
        if not link:
            break
        query = link.group(1).replace("&amp;", "&")
    assert pages == 3 and seen == expected


def test_due_date_pages_go_on_to_the_undated_cases_when_the_dated_ones_end_on_a_page_boundary(client, login_as):
    login_as("intake")
    dated = [make_case(n, status="triaged", due_on=date(2026, 4, 1) + timedelta(days=n)) for n in range(50)]
    undated = [make_case(100 + n, status="triaged") for n in range(10)]
    seen, query = [], "?sort=due&per_page=25"
    while query:
        page = _page(client, query)
        seen += references(page)
        link = re.search(r'href="[^"]*?(\?[^"]*after=[^"]+)"', page)
        query = link.group(1).replace("&amp;", "&") if link else None
    assert seen == [c.reference for c in dated] + [c.reference for c in sorted(undated, key=lambda c: c.id)]


def test_a_tampered_cursor_shows_the_first_page(client, login_as):
    login_as("intake")
    newest = make_case(5)
    for cursor in ("not-a-cursor", "W1siYSJdXQ", "eyJ4IjoxfQ", "%00%ff"):
        assert references(_page(client, f"?after={cursor}"))[0] == newest.reference


def test_count_is_exact_below_the_cap_and_bounded_above_it(client, login_as, monkeypatch):
    login_as("intake")
    for n in range(4):
        make_case(n)
    assert result_heading(_page(client)) == "4 cases"
    monkeypatch.setattr(listing, "COUNT_CAP", 3)
    assert result_heading(_page(client)) == "More than 3 cases"


def test_the_count_follows_new_cases_and_recusals_from_one_request_to_the_next(client, login_as):
    user = login_as("intake")
    make_case(1)
    assert result_heading(_page(client, "?state=open")) == "1 case"
    second = make_case(2)
    assert result_heading(_page(client, "?state=open")) == "2 cases"
    factories.RecusalFactory(case_id=second.id, user_id=user.id)
    assert result_heading(_page(client, "?state=open")) == "1 case"


def test_recused_and_restricted_cases_never_appear_in_the_list_or_its_count(client, login_as, make_user):
    user = login_as("intake")
    visible = make_case(1)
    recused = make_case(2, narrative="Recused case about the chemistry lab.")
    factories.RecusalFactory(case_id=recused.id, user_id=user.id)
    make_case(3, restricted=True, assignee_id=make_user("intake").id)
    page = _page(client)
    assert references(page) == [visible.reference] and result_heading(page) == "1 case"
    assert references(search_page(client, "chemistry")) == []


def test_conduct_officer_lists_only_cases_referred_to_conduct(client, login_as):
    login_as("conduct_officer")
    referred = make_case(1, status="referred_conduct", office="conduct")
    factories.ReferralFactory(case_id=referred.id, office="conduct")
    make_case(2, status="referred_umpd", office="umpd")
    make_case(3, status="received")
    assert references(_page(client)) == [referred.reference]


def test_investigator_lists_eoa_and_intake_cases_with_the_scope_written_into_each_statement(client, login_as, db):
    """The scope's values are in the statements' text, so the partial index of what an investigator sees
    (INVESTIGATOR_SCOPE) can serve them: with them as parameters, SQLite walked every office's closed cases."""
    from sqlalchemy import event

    login_as("investigator")
    eoa = make_case(1, status="closed", office="eoa", disposition="resolved")
    make_case(2, status="closed", office="conduct", disposition="resolved")
    intake = make_case(3, status="triaged")
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        closed, everything = _page(client, "?state=closed&sort=due"), _page(client, "?sort=due")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert references(closed) == [eoa.reference]
    assert sorted(references(everything)) == sorted([eoa.reference, intake.reference])
    listing_statements = [s for s in sent if "FROM cases" in s and "audit_entries" not in s]
    assert len(listing_statements) >= 4  # each page's count and rows
    assert all("(cases.office = 'eoa' OR cases.status IN ('received', 'triaged'))" in s for s in listing_statements)


def test_admin_sees_references_and_states_but_no_text_search(client, login_as):
    login_as("admin")
    case = make_case(1, narrative="A narrative the administrator must never search.")
    response = client.get("/cases/all?q=administrator", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert case.reference in page  # the words are ignored: administrators have no text search ...
    assert b"administrator" not in response.request.query_string
    assert "administrator" not in client.post("/cases/all", data={"q": "administrator"}).headers["Location"]
    with client.session_transaction() as session:
        assert "searches" not in session  # ... nor kept
    assert 'name="q"' not in page and "administrator must never" not in page


def test_the_same_row_links_to_the_case_for_staff_who_work_cases_and_not_for_an_administrator(client, login_as):
    case = make_case(1, status="triaged")
    link = f'<a href="/cases/{case.reference}">{case.reference}</a>'
    login_as("intake")
    assert link in _page(client)
    client.post("/logout")
    login_as("admin")
    page = _page(client)
    assert case.reference in page and link not in page
    client.post("/logout")
    login_as("auditor")
    assert link in _page(client)


def test_a_search_is_audited_by_filter_names_never_by_its_text(client, login_as, db):
    user = login_as("intake")
    make_case(1, narrative="The account posted my dorm room number.")
    search_page(client, "dorm room", state="received", urgent="y")
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "case.search", AuditEntry.actor_id == user.id)
    ).one()
    assert entry.details["filters"] == ["state", "urgent"] and entry.details["has_text"] is True
    assert "dorm" not in str(entry.details)


def test_the_list_shows_no_narrative(client, login_as):
    login_as("intake")
    make_case(1, narrative="Only on the case page: a very particular sentence.")
    assert "very particular sentence" not in _page(client)


def test_the_filter_form_shows_each_request_its_own_choices_and_errors(client, login_as, make_user):
    login_as("intake")
    assert re.search(r'<option value="conduct" selected>', _page(client, "?office=conduct"))
    assert re.search(r'<option value="eoa" selected>', _page(client, "?office=eoa"))
    assert not re.search(r"<option value=\"\w+\" selected>Conduct", _page(client, "?office=eoa"))
    colleague = make_user("investigator", display_name="Newly Hired Investigator")
    assert f'<option value="{colleague.id}">Newly Hired Investigator</option>' in _page(client, "?office=eoa")
    refused = client.get("/cases/all?created_from=2026-05-01&created_to=2026-04-01").get_data(as_text=True)
    again = client.get("/cases/all?created_from=2026-05-01&created_to=2026-04-01").get_data(as_text=True)
    assert "This date is before the “Reported from” date." in refused and again.count("before the “Reported from”") == 2


def test_search_text_is_kept_in_no_cache_of_rendered_filter_forms(client, login_as):
    from casework.reports import list_routes

    login_as("investigator")
    list_routes._kept_fields.cache_clear()
    list_routes._kept_panel.cache_clear()
    page = search_page(client, "Pemberton screenshot", state="open")
    assert 'value="Pemberton screenshot"' in page and '<option value="open" selected>' in page
    assert list_routes._kept_panel.cache_info().currsize == 0  # no whole panel kept for a search ...
    assert list_routes._kept_fields.cache_info().currsize == 1  # ... only the other fields, without the text
    without_text = _page(client, "?state=open&sort=newest&per_page=50")  # the address of the same filters
    assert list_routes._kept_fields.cache_info().hits == 1  # the same fields serve the page without text
    assert "Pemberton" not in without_text and '<option value="open" selected>' in without_text
