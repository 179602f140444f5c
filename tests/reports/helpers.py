"""Builders shared by the case list, search, dashboard and export tests."""

import re
from datetime import datetime, timedelta

from casework import search
from casework.extensions import db
from tests import factories

BASE = datetime(2026, 3, 2, 9, 0)


def make_case(minutes: int = 0, **kwargs):
    """A case reported `minutes` after BASE (later = newer); keyword arguments set any column."""
    kwargs.setdefault("created_at", BASE + timedelta(minutes=minutes))
    if kwargs.get("status") == "closed":
        kwargs.setdefault("closed_at", kwargs["created_at"] + timedelta(days=3))
        kwargs.setdefault("disposition", "resolved")
    case = factories.CaseFactory(**kwargs)
    db.session.flush()
    return case


def references(page_html: str) -> list[str]:
    """The case references shown in a list page, in order (link text, not the link's address)."""
    return re.findall(r">(OH-\d{4}-\d{5})<", page_html)


def result_heading(page_html: str) -> str:
    """The count heading above the results ("3 cases", "More than 1,000 cases")."""
    match = re.search(r'<h2 id="results-heading">(.*?)</h2>', page_html, re.S)
    return " ".join(match.group(1).split()) if match else ""


def search_address(client, words: str, **filters) -> str:
    """Post the filter form with search words: the address of the list it leads to, which names the words by a
    token of the session and never holds them."""
    response = client.post("/cases/all", data={"q": words, **filters})
    assert response.status_code == 303, response.status_code
    address = response.headers["Location"]
    assert [term for term in search.terms(words) if len(term) > 3 and term.lower() in address.lower()] == []
    return address


def search_page(client, words: str, **filters) -> str:
    """The list page of a search (posted, then shown at its address)."""
    response = client.get(search_address(client, words, **filters))
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)
