"""Queues with counts, keyset pagination, overdue marks; the overdue command; the workflow page and graph."""

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from casework.cases import queries, service
from casework.clock import local_today
from casework.flows import default_workflow
from tests.factories import MessageFactory, ReferralFactory

README = Path(__file__).resolve().parents[2] / "README.md"


def references(page: str) -> list[str]:
    return re.findall(r'href="/cases/(OH-\d{4}-\d{5})"', page)


def test_each_queue_holds_the_right_cases_with_counts(client, login_as, make_case, make_user):
    intake = login_as("intake")
    today = local_today()
    new = make_case("received")
    mine = make_case("triaged", assignee_id=intake.id)
    overdue = make_case("triaged", due_on=today - timedelta(days=2), assignee_id=make_user("investigator").id)
    awaiting = make_case("referred_umpd")
    acknowledged = make_case("referred_eoa", acknowledged_at=datetime(2026, 1, 5))
    unread = make_case("triaged", assignee_id=intake.id)
    MessageFactory(case_id=unread.id)
    closed = make_case("closed")

    expected = {
        "new": {new},
        "mine": {mine, unread},
        "unassigned": {new, awaiting, acknowledged},
        "overdue": {overdue},
        "awaiting_acknowledgement": {awaiting},
        "unread": {unread},
        "all": {new, mine, overdue, awaiting, acknowledged, unread, closed},
    }
    for name, cases in expected.items():
        page = client.get(f"/cases/?queue={name}").get_data(as_text=True)
        assert set(references(page)) == {c.reference for c in cases}, name
        assert re.search(rf'queue={name}"[^>]*>[^<]+</a>\s*<span class="num">{len(cases)}</span>', page), name


def test_a_queue_tab_beyond_the_cap_says_more_without_counting_on(client, login_as, make_case, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    for _ in range(3):
        make_case("received")
    make_case("triaged")
    login_as("intake")
    page = client.get("/cases/?queue=new").get_data(as_text=True)
    assert re.search(r'queue=new"[^>]*>[^<]+</a>\s*<span class="num">2\+</span>', page)
    assert re.search(r'queue=unassigned"[^>]*>[^<]+</a>\s*<span class="num">2\+</span>', page)
    assert len(references(page)) == 3  # the page itself lists every case


def test_queue_counts_follow_new_cases_and_recusals_from_one_request_to_the_next(client, login_as, make_case):
    from tests.factories import RecusalFactory

    intake = login_as("intake")
    make_case("received")

    def new_count() -> str:
        page = client.get("/cases/?queue=new").get_data(as_text=True)
        return re.search(r'queue=new"[^>]*>[^<]+</a>\s*<span class="num">([^<]+)</span>', page).group(1)

    assert new_count() == "1"
    second = make_case("received")
    assert new_count() == "2"
    RecusalFactory(case_id=second.id, user_id=intake.id)
    assert new_count() == "1"


def test_office_queue_shows_the_open_cases_of_the_users_office(client, login_as, make_case):
    conduct = make_case("referred_conduct")
    make_case("referred_umpd")
    make_case("closed", office="conduct")
    login_as("conduct_officer")
    page = client.get("/cases/?queue=office").get_data(as_text=True)
    assert references(page) == [conduct.reference]


def test_overdue_cases_are_marked_in_the_list(client, login_as, make_case):
    make_case("received", due_on=local_today() - timedelta(days=1))
    login_as("intake")
    assert 'class="tag tag-overdue"' in client.get("/cases/?queue=new").get_data(as_text=True)


def test_a_row_drawn_before_shows_its_case_as_it_is_now(app, client, db, login_as, make_case, make_user):
    login_as("intake")
    case = make_case("triaged", due_on=local_today() + timedelta(days=3))

    def row() -> str:
        page = client.get("/cases/?queue=all").get_data(as_text=True)
        return re.search(rf"<tr>\s*<td><a href=\"/cases/{case.reference}\".*?</tr>", page, re.S).group(0)

    drawn = app.jinja_env.globals["case_rows"]
    first = row()
    hits = drawn.rows_found_drawn()
    assert row() == first and drawn.rows_found_drawn() == hits + 1  # the same case, drawn once
    assert "tag-overdue" not in first and "—</td>" in first  # no assignee yet

    case.assignee_id = make_user("investigator", display_name="Robin Vale").id
    case.due_on = local_today() - timedelta(days=1)
    db.session.commit()
    now = row()
    assert "<td>Robin Vale</td>" in now and "tag-overdue" in now


def test_queues_page_by_keyset_without_losing_or_repeating_a_case(client, login_as, make_case, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    start = datetime(2026, 3, 2, 9, 0)
    made = [make_case("received", created_at=start + timedelta(minutes=i // 2)) for i in range(5)]  # ties on time
    login_as("intake")
    seen = walk(client, "new")
    newest_first = sorted(made, key=lambda c: (c.created_at, c.id), reverse=True)
    assert seen == [c.reference for c in newest_first]


def walk(client, queue: str) -> list[str]:
    """Every reference a queue lists, following its next-page links from page 1."""
    seen, link = [], f"/cases/?queue={queue}"
    while link:
        page = client.get(link).get_data(as_text=True)
        seen += references(page)
        found = re.search(rf'href="(/cases/\?queue={queue}&amp;after=[^"]+)"', page)
        link = found.group(1).replace("&amp;", "&") if found else None
    return seen


@pytest.mark.parametrize("order", ["newest", "due"])
def test_queue_pagination_uses_no_offset(db, make_user, order):
    query = queries.keyset_page(queries.access.visible_cases(make_user("intake")), order, after=True)
    assert "OFFSET" not in str(query.compile()).upper()


def test_overdue_queue_lists_the_most_overdue_case_first(client, login_as, make_case):
    today = local_today()
    # Received in the opposite order of their deadlines: newest first would list them backwards.
    made = [
        make_case(
            "triaged", due_on=today - timedelta(days=days), created_at=datetime(2026, 3, 2, 9, 0) - timedelta(days=days)
        )
        for days in (1, 30, 7)
    ]
    make_case("triaged", due_on=today + timedelta(days=3))
    login_as("intake")

    page = client.get("/cases/?queue=overdue").get_data(as_text=True)

    assert references(page) == [c.reference for c in sorted(made, key=lambda c: c.due_on)]
    assert "Most overdue first" in page


def test_overdue_queue_pages_by_deadline_without_losing_or_repeating_a_case(client, login_as, make_case, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    today = local_today()
    made = [make_case("triaged", due_on=today - timedelta(days=10 - i // 3)) for i in range(7)]  # ties on due_on
    login_as("intake")

    seen = walk(client, "overdue")

    assert seen == [c.reference for c in sorted(made, key=lambda c: (c.due_on, c.id))]


def test_newest_first_queues_still_page_from_the_newest_case(client, login_as, make_case, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    today = local_today()
    made = [
        make_case("received", due_on=today - timedelta(days=i), created_at=datetime(2026, 3, 2, 9, i)) for i in range(5)
    ]
    login_as("intake")

    assert walk(client, "new") == [c.reference for c in reversed(made)]


def test_a_cursor_of_the_other_order_or_a_broken_one_shows_the_first_overdue_page(client, login_as, make_case):
    today = local_today()
    cases = sorted(
        (make_case("triaged", due_on=today - timedelta(days=d), created_at=datetime(2026, 3, 2, d)) for d in (1, 2)),
        key=lambda c: c.due_on,
    )
    login_as("intake")
    newest = queries.Cursor("newest", cases[0].created_at, cases[0].id).encode()
    due = queries.Cursor("due", cases[0].due_on, cases[0].id).encode()
    assert references(client.get(f"/cases/?queue=overdue&after={due}").get_data(as_text=True)) == [cases[1].reference]

    for cursor in (
        newest,
        f"newest_{cases[0].due_on.isoformat()}_{cases[0].id}",  # the right key, the wrong order
        f"{cases[0].created_at.isoformat()}_{cases[0].id}",
        "due_2026-13-45_3",
        "due__3",
        f"due_{today.isoformat()}_{'9' * 12}",
        "due_x_y_z",
        "newest_due_1",
    ):
        response = client.get("/cases/", query_string={"queue": "overdue", "after": cursor})
        assert response.status_code == 200, cursor
        assert references(response.get_data(as_text=True)) == [c.reference for c in cases], cursor
    # and the other way round: a due-date cursor on a newest-first queue is ignored too (taken as a time, this
    # one would start the page before both cases were received)
    due_first_day = queries.Cursor("due", date(2026, 3, 2), cases[1].id).encode()
    page = client.get("/cases/", query_string={"queue": "all", "after": due_first_day}).get_data(as_text=True)
    assert set(references(page)) == {c.reference for c in cases}


def test_an_unknown_queue_is_not_found_and_a_bad_cursor_shows_the_first_page(client, login_as, make_case):
    case = make_case("received")
    login_as("intake")
    assert client.get("/cases/?queue=everything").status_code == 404
    page = client.get("/cases/?queue=new&after=garbage").get_data(as_text=True)
    assert case.reference in page


def test_auditor_queues_are_read_only_and_have_no_personal_queues(client, login_as, make_case):
    make_case("received")
    login_as("auditor")
    page = client.get("/cases/").get_data(as_text=True)
    assert "All cases" in page and "My cases" not in page and "<form" not in page.split("</header>")[1]


def test_overdue_command_prints_reference_state_office_due_date_and_days(runner, make_case):
    today = local_today()
    late = make_case("referred_conduct", due_on=today - timedelta(days=4), narrative="Secret narrative text")
    make_case("received", due_on=today + timedelta(days=1))

    result = runner.invoke(args=["cases", "overdue"])

    assert result.exit_code == 0, result.output
    [line] = [row for row in result.output.splitlines() if late.reference in row]
    assert "Referred to Student Conduct" in line and "conduct" in line
    assert (today - timedelta(days=4)).isoformat() in line and line.split()[-1] == "4"
    assert "Secret narrative text" not in result.output


def test_workflow_graph_command_prints_the_mermaid_diagram(runner):
    result = runner.invoke(args=["workflow", "graph"])
    assert result.exit_code == 0 and result.output == default_workflow().mermaid()
    assert runner.invoke(args=["workflow", "graph", "--name", "nope"]).exit_code != 0


def test_the_readme_diagram_is_generated_from_the_current_definition(app):
    text = README.read_text(encoding="utf-8")
    section = text[text.index("\n## Workflow\n") :]
    block = re.search(r"```mermaid\n(.*?)```", section, re.S)
    assert block, "README needs a '## Workflow' section with a ```mermaid block"
    with app.app_context():
        assert block.group(1) == default_workflow().mermaid(), (
            "The README diagram is stale: paste the output of `flask --app wsgi workflow graph`."
        )


def test_administrators_read_the_workflow_definition_and_its_diagram(client, login_as):
    login_as("admin")
    page = client.get("/cases/workflows").get_data(as_text=True)
    for text in (
        "Referred to Student Conduct",
        "Acknowledge referral",
        "Conduct officer",
        "has_student_respondent",
        "60 business days (close)",
        "Closing summary",
        "No policy violation found",
        "<pre",
    ):
        assert text in page, text
    assert "stateDiagram-v2" in page and "received --&gt; triaged: triage" in page


@pytest.mark.parametrize("role", ["intake", "investigator", "conduct_officer", "police_liaison", "auditor"])
def test_only_administrators_see_the_workflow_page(client, login_as, role):
    login_as(role)
    assert client.get("/cases/workflows").status_code == 403


def test_a_table_row_names_the_columns_a_table_of_cases_selects_in_their_order():
    assert [column.key for column in queries.ROW_COLUMNS] == list(queries.CaseListRow._fields)


def test_a_police_liaisons_queues_hold_the_cases_ever_referred_to_umpd_and_count_them(
    client, login_as, make_case, make_user
):
    liaison = login_as("police_liaison")
    today = local_today()
    referred = make_case("referred_umpd")
    overdue = make_case("referred_umpd", due_on=today - timedelta(days=1), assignee_id=liaison.id)
    returned = make_case("referred_umpd")
    reason = {"reason": "Not a police matter."}
    service.transition(returned, "return_to_triage", make_user("intake"), reason, returned.version)
    closed = make_case("closed", office="umpd")
    ReferralFactory(case_id=closed.id, office="umpd")
    make_case("referred_conduct")
    make_case("received")
    make_case("triaged")

    expected = {
        "new": set(),
        "mine": {overdue},
        "office": {referred, overdue},
        "unassigned": {referred, returned},
        "overdue": {overdue},
        "awaiting_acknowledgement": {referred, overdue},
        "all": {referred, overdue, returned, closed},
    }
    for name, cases in expected.items():
        page = client.get(f"/cases/?queue={name}").get_data(as_text=True)
        assert set(references(page)) == {c.reference for c in cases}, name
        assert re.search(rf'queue={name}"[^>]*>[^<]+</a>\s*<span class="num">{len(cases)}</span>', page), name


def test_the_tabs_counts_are_sent_with_their_values_written_in(client, login_as, make_case, db):
    """So that PostgreSQL keeps one plan for them, and both databases can match the investigator's partial index
    (queries._counts_sql)."""
    make_case("received")
    investigator = login_as("investigator")
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "count(*)" in statement:
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        page = client.get("/cases/?queue=new").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert re.search(r'queue=new"[^>]*>[^<]+</a>\s*<span class="num">1</span>', page)
    [(statement, parameters)] = sent
    assert f"cases.assignee_id = {investigator.id}" in statement
    assert "(cases.office = 'eoa' OR cases.status IN ('received', 'triaged'))" in statement
    assert f"LIMIT {queries.COUNT_CAP + 1}" in statement
    assert not parameters
