"""Full-text search over narratives, party names and handles, and notes, on SQLite FTS5 and PostgreSQL."""

import importlib

import pytest
from sqlalchemy import text

from casework import search
from casework.extensions import db
from tests import factories
from tests.reports.helpers import make_case, references


def _search(client, words: str, extra: str = "") -> list[str]:
    response = client.get("/cases/all", query_string={"q": words} | dict(p.split("=") for p in extra.split("&") if p))
    assert response.status_code == 200
    return references(response.get_data(as_text=True))


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
    response = client.get("/cases/all", query_string={"q": words})
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
    assert case.id in db.session.scalars(search_ids("zeppelin")).all()


def search_ids(word: str):
    from sqlalchemy import select

    from casework.models import Case, User

    auditor = User(id=0, role="auditor", active=True, email="x", display_name="x", password_hash="x")
    return select(Case.id).where(search.match_clause(auditor, word, db.session.get_bind().dialect.name))


def test_the_migration_holds_the_same_search_sql_as_the_search_module():
    migration = importlib.import_module("migrations.versions.0004_lists_search")
    assert migration.SQLITE_CREATE == [search.SQLITE_TABLE]
    assert search.trigger_statements("sqlite") == migration.SQLITE_TRIGGERS
    assert migration.PG_CREATE == search.PG_CREATE
    assert search.trigger_statements("postgresql") == migration.PG_TRIGGERS


def test_a_common_word_walks_the_sort_order_and_finds_the_same_cases(client, login_as, monkeypatch):
    login_as("intake")
    cases = [make_case(n, narrative=f"Posts in the hiking group, number {n}.") for n in range(6)]
    make_case(9, narrative="Unrelated.")
    expected = [c.reference for c in reversed(cases)]
    assert _search(client, "hiking group") == expected
    monkeypatch.setattr(search, "DRIVE_BY_SORT_FROM", 2)  # as if "hiking" were common
    assert _search(client, "hiking group") == expected
    assert _search(client, "hiking", "sort=oldest") == expected[::-1]
