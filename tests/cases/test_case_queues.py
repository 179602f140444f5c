"""Queues with counts, keyset pagination, overdue marks; the overdue command; the workflow page and graph."""

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from casework.cases import queries
from casework.cases.service import local_today
from casework.flows import default_workflow
from tests.factories import MessageFactory

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


def test_queues_page_by_keyset_without_losing_or_repeating_a_case(client, login_as, make_case, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    start = datetime(2026, 3, 2, 9, 0)
    made = [make_case("received", created_at=start + timedelta(minutes=i // 2)) for i in range(5)]  # ties on time
    login_as("intake")
    seen, link = [], "/cases/?queue=new"
    while link:
        page = client.get(link).get_data(as_text=True)
        seen += references(page)
        found = re.search(r'href="(/cases/\?queue=new&amp;after=[^"]+)"', page)
        link = found.group(1).replace("&amp;", "&") if found else None
    newest_first = sorted(made, key=lambda c: (c.created_at, c.id), reverse=True)
    assert seen == [c.reference for c in newest_first]


def test_queue_pagination_uses_no_offset(db, make_user):
    query = queries.keyset_page(
        queries.access.visible_cases(make_user("intake")), queries.Cursor(datetime(2026, 1, 1), 7)
    )
    assert "OFFSET" not in str(query.compile()).upper()


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
