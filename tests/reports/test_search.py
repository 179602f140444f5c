"""Full-text search over narratives, party names and handles, and notes, on SQLite FTS5 and PostgreSQL."""

import base64
import html
import importlib
import json
import re
from datetime import date

import pytest
from sqlalchemy import text

from casework import search
from casework.extensions import db
from tests import factories
from tests.reports.helpers import make_case, references, result_heading, search_address, search_page


def _search(client, words: str, extra: str = "") -> list[str]:
    return references(search_page(client, words, **dict(p.split("=") for p in extra.split("&") if p)))


def _every_page(client, words: str, sort: str, per_page: int = 25) -> list[str]:
    """The references of every page of a search, following its "next" links."""
    seen, address = [], search_address(client, words, sort=sort, per_page=per_page)
    for _ in range(20):  # a cursor that led back would otherwise page forever
        page = client.get(address).get_data(as_text=True)
        seen += references(page)
        match = re.search(r'rel="next" href="([^"]+)"', page)
        if not match:
            return seen
        address = html.unescape(match.group(1))
    raise AssertionError(f"more than 20 pages: {len(seen)} rows so far")


def test_intake_finds_a_case_by_words_of_its_narrative_including_word_forms(client, login_as):
    login_as("intake")
    case = make_case(1, narrative="Someone is threatening me in the residence hall group chat.")
    make_case(2, narrative="A fake profile uses my photos.")
    assert _search(client, "residence chat") == [case.reference]
    assert _search(client, "threatened") == [case.reference]  # another form of the same word
    assert _search(client, "residence photos") == []  # every word must match


def test_a_respondent_added_later_is_found_by_name_and_handle(client, login_as):
    login_as("intake")
    case = make_case(1)
    assert _search(client, "umass_gossip") == []
    party = factories.PartyFactory(case=case, name="Quentin Marlowe", handle="@UMass_Gossip")
    db.session.flush()
    assert _search(client, "marlowe") == [case.reference]
    assert _search(client, "umass_gossip") == [case.reference]
    db.session.delete(party)
    db.session.flush()
    assert _search(client, "marlowe") == []


def test_an_edited_narrative_and_a_purge_are_reflected_at_once(client, login_as):
    login_as("intake")
    case = make_case(1, narrative="The messages came from a burner account.")
    case.narrative = "Purged."
    db.session.flush()
    assert _search(client, "burner") == []
    assert _search(client, "purged") == [case.reference]


def test_a_shared_note_is_searchable_by_every_office_on_the_case(client, login_as, make_user):
    login_as("conduct_officer")
    case = make_case(1, status="referred_conduct", office="conduct")
    factories.ReferralFactory(case_id=case.id, office="conduct")
    factories.NoteFactory(case_id=case.id, office="eoa", visibility="shared", body="Housing moved the reporter.")
    db.session.flush()
    assert _search(client, "housing") == [case.reference]


def test_an_office_internal_note_is_searchable_only_inside_that_office(client, login_as, make_user):
    case = make_case(1, status="referred_conduct", office="conduct")
    factories.ReferralFactory(case_id=case.id, office="conduct")
    factories.NoteFactory(case_id=case.id, office="eoa", visibility="office", body="Interim polygraph arrangement.")
    db.session.flush()
    login_as("conduct_officer")
    assert _search(client, "polygraph") == []
    client.post("/logout")
    login_as("intake")
    assert _search(client, "polygraph") == [case.reference]
    client.post("/logout")
    login_as("auditor")
    assert _search(client, "polygraph") == [case.reference]


def test_a_search_never_reaches_a_case_the_user_may_not_see(client, login_as):
    login_as("investigator")
    make_case(1, status="referred_umpd", office="umpd", narrative="Campus police matter about a stolen phone.")
    assert _search(client, "stolen phone") == []


@pytest.mark.parametrize(
    "words", ['" OR 1=1 --', "NEAR(a b)", "*", "body:secret", "a' OR 'x'='x", "{notes_eoa}: x", "ÀÉÎ ß 東京", "-", ""]
)
def test_search_syntax_in_the_text_is_taken_as_plain_words(client, login_as, words):
    login_as("intake")
    make_case(1)
    response = client.post("/cases/all", data={"q": words}, follow_redirects=True)
    assert response.status_code == 200


def test_the_reindex_command_rebuilds_a_lost_index(client, login_as, runner):
    login_as("intake")
    case = make_case(1, narrative="Screenshots of the kayak club chat.")
    db.session.execute(text("DELETE FROM case_search"))
    assert _search(client, "kayak") == []
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0 and "Indexed" in result.output
    assert _search(client, "kayak") == [case.reference]


def test_reindex_case_rebuilds_one_case(client, login_as):
    login_as("intake")
    case = make_case(1, narrative="An origami club account.")
    db.session.execute(text("DELETE FROM case_search"))
    search.reindex_case(case.id)
    assert _search(client, "origami") == [case.reference]


def test_the_demo_seed_ends_with_every_new_case_indexed_and_the_triggers_back(runner, db):
    assert runner.invoke(args=["demo", "--cases", "30"]).exit_code == 0
    dialect = db.session.get_bind().dialect.name
    key = "case_id" if dialect == "postgresql" else "rowid"
    missing = db.session.scalar(text(f"SELECT count(*) FROM cases WHERE id NOT IN (SELECT {key} FROM case_search)"))  # noqa: S608
    assert missing == 0
    case = make_case(99, narrative="A zeppelin-shaped sticker.")
    assert case.id in search_ids("zeppelin")


def search_ids(word: str) -> list[int]:
    from sqlalchemy import select

    from casework.models import Case, User

    auditor = User(id=0, role="auditor", active=True, email="x", display_name="x", password_hash="x")
    dialect = db.session.get_bind().dialect.name
    matches = select(Case.id).where(search.match_clause(auditor, dialect))
    return db.session.scalars(matches, search.words_parameter(auditor, word, dialect)).all()


def test_the_migrations_hold_the_same_search_sql_as_the_search_module():
    sqlite = importlib.import_module("migrations.versions.0004_lists_search")
    assert sqlite.SQLITE_CREATE == [search.SQLITE_TABLE]
    assert search.trigger_statements("sqlite") == sqlite.SQLITE_TRIGGERS
    postgresql = importlib.import_module("migrations.versions.0007_search_index_table")
    assert postgresql.PG_CREATE == search.PG_CREATE
    assert search.trigger_statements("postgresql") == postgresql.PG_TRIGGERS
    assert postgresql.PG_BUILD == search.PG_INSERT + search.PG_DOCUMENT


def test_a_common_word_walks_the_sort_order_and_finds_the_same_cases(client, login_as, monkeypatch):
    login_as("intake")
    cases = [make_case(n, narrative=f"Posts in the hiking group, number {n}.") for n in range(6)]
    make_case(9, narrative="Unrelated.")
    expected = [c.reference for c in reversed(cases)]
    assert _search(client, "hiking group") == expected
    monkeypatch.setattr(search, "DRIVE_BY_SORT_FROM", 2)  # as if "hiking" were common
    assert _search(client, "hiking group") == expected
    assert _search(client, "hiking", "sort=oldest") == expected[::-1]


def test_an_edited_note_and_a_changed_handle_are_reflected_at_once(client, login_as):
    login_as("intake")
    case = make_case(1)
    note = factories.NoteFactory(case_id=case.id, office="eoa", visibility="shared", body="Met the tutor.")
    party = factories.PartyFactory(case=case, name="Ines Okafor", handle="@first_handle")
    db.session.flush()
    assert _search(client, "tutor") == [case.reference]
    note.body = "Met the librarian."
    party.handle = "@second_handle"
    db.session.flush()
    assert _search(client, "tutor") == []
    assert _search(client, "librarian") == [case.reference]
    assert _search(client, "first_handle") == []
    assert _search(client, "second_handle") == [case.reference]


def test_a_search_with_filters_follows_each_change_of_state_office_and_assignee(client, login_as, make_user):
    intake = login_as("intake")
    case = make_case(1, narrative="A sailing team group chat.", status="triaged", office="eoa")
    make_case(2, narrative="A sailing club account.", status="received", office="conduct")
    assert _search(client, "sailing", "state=triaged") == [case.reference]
    assert _search(client, "sailing", "office=eoa") == [case.reference]
    case.status, case.office, case.assignee_id = "referred_umpd", "umpd", intake.id
    case.risk_level, case.urgent = "high", True
    db.session.flush()
    assert _search(client, "sailing", "state=triaged") == []
    assert _search(client, "sailing", "state=referred_umpd&office=umpd") == [case.reference]
    assert _search(client, "sailing", "assignee=me&risk=high&urgent=1") == [case.reference]


def test_a_search_neither_shows_nor_counts_a_case_made_restricted_or_recused_from(client, login_as, make_user):
    intake = login_as("intake")
    other = make_user("investigator")
    hidden = make_case(1, narrative="The glider society page.")
    recused = make_case(2, narrative="The glider society chat.")
    shown = make_case(3, narrative="The glider society forum.")
    address = search_address(client, "glider")
    assert result_heading(client.get(address).get_data(as_text=True)) == "3 cases"
    hidden.restricted, hidden.assignee_id = True, other.id
    factories.RecusalFactory(case_id=recused.id, user_id=intake.id)
    db.session.flush()
    page = client.get(address).get_data(as_text=True)
    assert references(page) == [shown.reference]
    assert result_heading(page) == "1 case"


def test_a_search_pages_through_many_matches_in_each_sort_order(client, login_as):
    login_as("intake")
    cases = [make_case(n, narrative=f"The rowing crew chat, message {n}.", due_on=None) for n in range(30)]
    make_case(99, narrative="Unrelated.")
    newest = [c.reference for c in reversed(cases)]
    for sort, expected in (("newest", newest), ("oldest", newest[::-1]), ("due", [c.reference for c in cases])):
        assert _every_page(client, "rowing", sort) == expected, sort


def test_the_postgresql_index_table_holds_the_list_columns_of_every_case(client, login_as, make_user):
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("the copied columns exist on PostgreSQL only")
    intake = login_as("intake")
    case = make_case(1, narrative="A chess club account.")
    make_case(2, status="closed")
    case.status, case.assignee_id, case.restricted, case.due_on = "triaged", intake.id, True, date(2026, 4, 1)
    db.session.flush()
    columns = ", ".join(search.INDEX_COLUMNS)
    copies = f"SELECT id, {columns} FROM cases EXCEPT SELECT case_id, {columns} FROM case_search"  # noqa: S608
    differing = db.session.scalar(text(f"SELECT count(*) FROM ({copies}) d"))  # noqa: S608
    assert differing == 0


def test_a_statement_on_a_column_the_index_does_not_copy_is_not_moved_to_it(make_user):
    from sqlalchemy import select

    from casework.models import Case

    auditor = make_user("auditor")
    assert search.over_index(select(Case.id).where(Case.narrative == "x"), auditor) is None
    assert search.over_index(select(Case.id).where(Case.status == "closed"), auditor) is not None


@pytest.mark.parametrize(("renumbered", "spread"), [(False, 20), (True, 20), (False, 0)])
def test_a_common_word_pages_newest_and_oldest_first_even_when_ids_do_not_follow_dates(
    client, login_as, monkeypatch, renumbered, spread
):
    from casework.reports import listing

    login_as("intake")
    cases = [make_case(n, narrative=f"The curling league chat, message {n}.") for n in range(30)]
    if renumbered:  # the lowest id is now the newest case, the highest the oldest
        cases[0].created_at, cases[-1].created_at = cases[-1].created_at, cases[0].created_at
        cases[0], cases[-1] = cases[-1], cases[0]
        db.session.flush()
    monkeypatch.setattr(search, "DRIVE_BY_SORT_FROM", 2)  # as if "curling" were common
    monkeypatch.setattr(listing, "WINDOW_PAGES", 1)  # a window of one page of matches
    monkeypatch.setattr(listing, "WINDOW_SPREAD", spread)  # 0: as if the matches were too far apart for a window
    newest = [c.reference for c in reversed(cases)]
    for sort, expected in (("newest", newest), ("oldest", newest[::-1])):
        assert _every_page(client, "curling", sort) == expected, sort


@pytest.mark.parametrize("share", [1, 3, 10**9])
def test_a_common_word_pages_the_same_wherever_the_recent_span_ends(client, login_as, monkeypatch, share):
    """PostgreSQL looks for a common word's page first among the recent cases (1/share of all time), then beyond:
    a span holding every match, a third of them, or none gives the same pages."""
    from casework.reports import listing

    login_as("intake")
    cases = [make_case(n * 10, narrative=f"The fencing club chat, message {n}.") for n in range(30)]
    cases[3].created_at = cases[4].created_at  # two cases reported at the same instant
    make_case(1000, narrative="Unrelated, and the newest case.")
    db.session.flush()
    monkeypatch.setattr(search, "DRIVE_BY_SORT_FROM", 2)  # as if "fencing" were common
    monkeypatch.setattr(listing, "RECENT_SHARE", share)
    newest = [c.reference for c in sorted(cases, key=lambda c: (c.created_at, c.id), reverse=True)]
    for sort, expected in (("newest", newest), ("oldest", newest[::-1])):
        assert _every_page(client, "fencing", sort, per_page=25) == expected, sort


def test_a_conduct_officer_finds_and_counts_only_cases_referred_to_conduct(client, login_as):
    login_as("conduct_officer")
    referred = make_case(1, status="referred_conduct", office="conduct", narrative="The lacrosse team chat.")
    factories.ReferralFactory(case_id=referred.id, office="conduct")
    make_case(2, status="triaged", narrative="The lacrosse club page.")
    page = search_page(client, "lacrosse")
    assert references(page) == [referred.reference]
    assert result_heading(page) == "1 case"


def test_a_search_without_words_lists_and_counts_every_visible_case(client, login_as):
    login_as("intake")
    cases = [make_case(n) for n in range(2)]
    db.session.execute(text("DELETE FROM case_search"))  # the list does not depend on the index then
    page = search_page(client, "!!!")
    assert references(page) == [c.reference for c in reversed(cases)]
    assert result_heading(page) == "2 cases"


@pytest.mark.parametrize("common", [False, True])
def test_the_statements_kept_for_a_search_hold_no_word_of_it(client, login_as, monkeypatch, common):
    """Search statements are kept and reused, the words being a parameter given when they run: neither a kept
    statement nor its key holds them, and the next search with other words finds its own cases."""
    from casework.cases import queries

    login_as("intake")
    monkeypatch.setattr(queries, "_kept_statements", {})
    if common:
        monkeypatch.setattr(search, "DRIVE_BY_SORT_FROM", 2)
    zeppelin = [make_case(n, narrative=f"A zeppelin sticker, number {n}.") for n in range(3)]
    glider = make_case(9, narrative="A glider sticker.")
    assert _search(client, "zeppelin", "per_page=25") == [c.reference for c in reversed(zeppelin)]
    assert queries._kept_statements
    for key, kept in queries._kept_statements.items():
        assert "zeppelin" not in repr(key)
        for statement in [part for part in (kept if isinstance(kept, tuple) else (kept,)) if hasattr(part, "compile")]:
            compiled = statement.compile(dialect=db.session.get_bind().dialect)
            assert "zeppelin" not in str(compiled) and "zeppelin" not in repr(compiled.params)
    assert _search(client, "glider", "per_page=25") == [glider.reference]


@pytest.mark.parametrize(("sort", "key"), [("newest", "0001-01-01T00:00:00.000000"), ("oldest", "9999-12-31T23:59:59")])
def test_a_common_word_with_a_cursor_at_the_end_of_time_shows_an_empty_page(client, login_as, monkeypatch, sort, key):
    """A cursor is opaque but can be written by hand: one past the first or last instant there is gives an empty
    page, not an error (PostgreSQL's recent span would reach beyond the calendar)."""
    login_as("intake")
    for n in range(3):
        make_case(n, narrative=f"The rugby club chat, message {n}.")
    monkeypatch.setattr(search, "DRIVE_BY_SORT_FROM", 2)  # as if "rugby" were common
    raw = json.dumps([sort, key, 1, 3, True], separators=(",", ":")).encode()
    after = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = client.get(f"{search_address(client, 'rugby', sort=sort)}&after={after}")
    assert response.status_code == 200
    assert references(response.get_data(as_text=True)) == []


# --- the words of a search never travel in an address ---------------------------------------------------------


def test_the_words_of_a_search_stay_out_of_every_address_the_list_gives(client, login_as):
    login_as("intake")
    kayak = [make_case(n, status="received", narrative=f"Photos of me at the kayak club, post {n}.") for n in range(26)]
    response = client.post("/cases/all", data={"q": "kayak club", "state": "received", "per_page": "25"})
    assert response.status_code == 303
    address = response.headers["Location"]
    assert "kayak" not in address and "state=received" in address and "search=" in address
    page = client.get(address).get_data(as_text=True)
    assert references(page) == [c.reference for c in reversed(kayak)][:25]
    assert 'value="kayak club"' in page  # the search box still holds the words
    links = [html.unescape(link) for link in re.findall(r'(?:href|action)="([^"]*)"', page)]
    assert [link for link in links if "kayak" in link] == []
    export, following = (next(link for link in links if part in link) for part in ("all.csv?", "after="))
    assert "search=" in export and "search=" in following
    following = client.get(following).get_data(as_text=True)
    assert references(following) == [kayak[0].reference] and "Back to the first page" in following
    assert [link for link in re.findall(r'(?:href|action)="([^"]*)"', following) if "kayak" in link] == []


def test_an_address_written_with_words_is_moved_to_one_without_them(client, login_as):
    login_as("investigator")
    case = make_case(1, narrative="The fencing team chat.")
    make_case(2, narrative="Another chat.")
    response = client.get("/cases/all?state=open&q=fencing")
    assert response.status_code == 303
    assert "fencing" not in response.headers["Location"] and "state=open" in response.headers["Location"]
    assert references(client.get(response.headers["Location"]).get_data(as_text=True)) == [case.reference]
    paged = client.get("/cases/all?q=fencing&per_page=25&after=WyJuZXdlc3Qi")  # a later page keeps its cursor
    assert paged.status_code == 303 and paged.headers["Location"].endswith("&after=WyJuZXdlc3Qi")
    assert "fencing" not in paged.headers["Location"]
    refused = client.get("/cases/all?q=fencing&created_from=2026-05-01&created_to=2026-04-01")
    assert refused.status_code == 400 and "This date is before" in refused.get_data(as_text=True)


def test_a_search_is_named_in_the_session_only_and_ends_with_it(client, login_as):
    from casework.reports.list_routes import KEPT_SEARCHES

    user = login_as("intake")
    case = make_case(1, narrative="The rowing club chat.")
    first = search_address(client, "rowing")
    assert search_address(client, "rowing") == first  # the same words, the same token
    for n in range(KEPT_SEARCHES - 1):
        search_address(client, f"word{n}")
    assert references(client.get(first).get_data(as_text=True)) == [case.reference]
    search_address(client, "one more")  # the oldest search is let go
    ended = client.get(first)
    page = ended.get_data(as_text=True)
    assert ended.status_code == 200 and "That search has ended" in page
    assert references(page) == [] and "rowing" not in page
    again = search_address(client, "rowing")
    client.post("/logout")
    login_as(user)
    assert "That search has ended" in client.get(again).get_data(as_text=True)  # signing out ends them all
    assert "That search has ended" in client.get("/cases/all?search=made-up").get_data(as_text=True)


def test_a_posted_filter_form_with_bad_input_comes_back_with_its_errors_and_the_words_kept(client, login_as):
    login_as("intake")
    too_long = client.post("/cases/all", data={"q": "harassment " * 20})
    assert too_long.status_code == 400 and "Use at most 200 characters." in too_long.get_data(as_text=True)
    wrong_dates = client.post(
        "/cases/all", data={"q": "rowing club", "created_from": "2026-05-01", "created_to": "2026-04-01"}
    )
    page = wrong_dates.get_data(as_text=True)
    assert wrong_dates.status_code == 400 and "This date is before" in page
    assert 'value="rowing club"' in page and 'value="2026-05-01"' in page


def test_the_export_of_an_ended_search_says_so_and_exports_nothing(client, login_as):
    login_as("intake")
    make_case(1, narrative="The rowing club chat.")
    response = client.get("/cases/all.csv?search=made-up")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "That search has ended" in response.get_data(as_text=True)
