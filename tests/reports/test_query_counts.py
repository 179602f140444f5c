"""List pages issue a small, fixed number of SQL statements, whatever the page size or the size of the cases."""

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event

from casework.extensions import db
from tests import factories
from tests.reports.helpers import make_case, search_address


class StatementCounter:
    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)


def _count(client, url: str) -> int:
    counter = StatementCounter()
    engine = db.engine
    event.listen(engine, "before_cursor_execute", counter)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    return len(counter.statements)


def _busy_case(n: int, investigator_id: int):
    case = make_case(n, status="triaged", assignee_id=investigator_id)
    for platform in ("x", "tiktok", "reddit"):
        factories.CasePlatformFactory(case_id=case.id, platform=platform)
    for _ in range(3):
        factories.PartyFactory(case=case)
        factories.NoteFactory(case_id=case.id, author_id=investigator_id)
        factories.CaseEventFactory(case_id=case.id)
    return case


@pytest.mark.parametrize(
    "url",
    [
        "/cases/all?per_page={n}",
        "/cases/all?per_page={n}&search={search}&platform=x&sort=due",
        "/cases/all.csv?per_page={n}",
        "/dashboard?per_page={n}",
    ],
)
def test_statements_per_page_do_not_grow_with_rows_parties_notes_or_events(client, login_as, make_user, url):
    login_as("intake")
    token = parse_qs(urlsplit(search_address(client, "fake profile")).query)["search"][0]
    investigator = make_user("investigator")
    for n in range(3):
        _busy_case(n, investigator.id)
    few = _count(client, url.format(n=25, search=token))
    for n in range(3, 40):
        _busy_case(n, investigator.id)
    many = _count(client, url.format(n=100, search=token))
    assert many == few
    assert few <= 12  # sign-in user, form choices, page, count, platforms, audit append (+ test savepoints)
