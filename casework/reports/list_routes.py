"""The filtered list of every case a user may see, and its CSV export.

The words of a text search never travel in a URL: an address is kept in the browser's history and in a proxy's
log. The filter form is posted; the list's address then names the words by a token, and the signed-in session
keeps the words of its last KEPT_SEARCHES searches under their tokens (they end with it).
"""

import secrets
from functools import lru_cache
from urllib.parse import urlencode

from flask import Response, flash, get_template_attribute, redirect, render_template, request, session, url_for
from flask_login import current_user
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms.fields.choices import SelectChoice

from casework.access import may_read_content
from casework.auth.decorators import reauth_required, role_required
from casework.clock import local_today
from casework.extensions import db
from casework.flows import state_labels
from casework.navigation import ALL_STAFF
from casework.reports import exports, listing
from casework.reports.forms import CaseFilterForm
from casework.reports.routes import bp
from casework.reports.service import assignable_staff, loaded_objects_kept_after_commit

EXPORT_ROLES = ("intake", "investigator", "auditor", "admin")


SEARCHES = "searches"  # session: [token, words] of the last searches, oldest first
KEPT_SEARCHES = 6  # at most 200 characters each (CaseFilterForm.q): the session cookie stays well under 4 KB
SEARCH_ENDED = (
    "That search has ended: its words are kept only for your last few searches, and only until you sign out. "
    "Type them again."
)


def token_for(words: str) -> str:
    """The token naming `words` in this session's searches (a new one, unless the words are among them)."""
    kept = session.get(SEARCHES, [])
    token = next((token for token, kept_words in kept if kept_words == words), None) or secrets.token_urlsafe(6)
    session[SEARCHES] = [*(pair for pair in kept if pair[1] != words), [token, words]][-KEPT_SEARCHES:]
    return token


def words_for(token: str) -> str | None:
    """The words this session searched for under `token`, or None if they are no longer kept."""
    return next((words for kept, words in session.get(SEARCHES, []) if kept == token), None)


def _filter_form(formdata: MultiDict) -> CaseFilterForm:
    return CaseFilterForm(
        formdata=formdata,
        states=state_labels(),
        assignees=assignable_staff(),
        text_search=may_read_content(current_user),
    )


def _address_form() -> tuple[CaseFilterForm, str, bool]:
    """(form, token, ended): the filters in the list's address, with the words of the search its token names;
    `ended` when the session no longer keeps them."""
    args = request.args.copy()
    token = args.pop("search", "")
    words = words_for(token) if token else ""
    if words:
        args["q"] = words
    return _filter_form(args), token if words else "", words is None


def _address(endpoint: str, form: CaseFilterForm, after: str = "") -> str:
    """The address of the list (or its export) of a valid form: its filters, and a token for its words."""
    words = form.q.data.strip() if "q" in form and form.q.data else ""
    query = _query_string(form, token_for(words) if words else "", after)
    return url_for(endpoint) + (f"?{query}" if query else "")


def _words_out_of_the_address(endpoint: str):
    """For an address that holds search words (written by hand): the same list at an address without them,
    the words going to the session; or the form's errors, if the filters are not valid."""
    form = _filter_form(request.args)
    if not form.validate():
        return _list_page(form, filter_panel(form, None)), 400
    return redirect(_address(endpoint, form, request.args.get("after", "")), 303)


MAX_KEPT_QUERY = 1000  # a longer query string is rendered, not kept


def filter_panel(form: CaseFilterForm, address: MultiDict | None) -> Markup:
    """The filter form's fields, rendered: the search box, and the other fields.

    Its fourteen fields cost more to render than the fifty rows of a page, and they are a function of the
    list's address (less its search) and the choices offered alone, so rendered panels are kept (the least
    recently used go first); a posted form (`address` None) is rendered afresh. With search text, the search box
    is rendered around the kept fields each time: the words someone searched for stay in no cache.
    """
    if address is None or sum(len(name) + len(value) for name, value in address.items(multi=True)) > MAX_KEPT_QUERY:
        return _render_panel(form, _render_fields(form))
    args = tuple((name, value) for name, value in address.items(multi=True) if name not in ("after", "search"))
    kept = (args, "q" in form, _options(form.state), _options(form.assignee))
    if "q" in form and form.q.data:
        return _render_panel(form, _kept_fields(*kept))
    return _kept_panel(*kept)


def _options(field) -> tuple[tuple[str, str], ...]:
    return tuple((choice.value, choice.label) for choice in field.choices)


def _form_of(args: tuple, text_search: bool, states: tuple, assignees: tuple) -> CaseFilterForm:
    form = CaseFilterForm(formdata=MultiDict(args), states={}, assignees={}, text_search=text_search)
    form.state.choices = [SelectChoice(value, label) for value, label in states]
    form.assignee.choices = [SelectChoice(value, label) for value, label in assignees]
    form.validate()
    return form


@lru_cache(maxsize=256)
def _kept_panel(*kept) -> Markup:
    """The whole panel of a query without search text."""
    return _render_panel(_form_of(*kept), _kept_fields(*kept))


@lru_cache(maxsize=256)
def _kept_fields(*kept) -> Markup:
    """Every field but the search box."""
    return _render_fields(_form_of(*kept))


def _render_panel(form: CaseFilterForm, fields: Markup) -> Markup:
    return get_template_attribute("reports/_filters.html", "filter_panel")(form, fields)


def _render_fields(form: CaseFilterForm) -> Markup:
    return get_template_attribute("reports/_filters.html", "filter_fields")(form)


def _query_string(form: CaseFilterForm, search: str, after: str = "") -> str:
    """The filters of `form` as a query string, the token of its words (never the words) and a page's cursor."""
    pairs = [(f.name, f.data) for f in form if f.name != "q" and f.data not in (None, "", False)]
    pairs = [(name, "y" if value is True else value) for name, value in pairs]
    return urlencode(pairs + [(name, value) for name, value in (("search", search), ("after", after)) if value])


def _list_page(form: CaseFilterForm, panel: Markup, *, page=None, query: str = "", today=None) -> str:
    return render_template(
        "reports/case_list.html",
        form=form,
        filter_panel=panel,
        page=page,
        query=query,
        today=today,
        may_export=current_user.role in EXPORT_ROLES,
    )


@bp.get("/cases/all")
@role_required(*ALL_STAFF)
def case_list():
    if "q" in request.args:
        return _words_out_of_the_address("reports.case_list")
    form, token, ended = _address_form()
    page = None
    today = local_today()
    if ended:
        flash(SEARCH_ENDED, "info")
    elif form.validate():
        page = listing.list_cases(current_user, form.filters(request.args.get("after", "")), today=today)
    with loaded_objects_kept_after_commit():
        db.session.commit()
    panel = filter_panel(form, request.args)
    return _list_page(form, panel, page=page, query=_query_string(form, token), today=today)


@bp.post("/cases/all")
@role_required(*ALL_STAFF)
def filter_case_list():
    """The filter form, posted: to the list at the address of its filters (and its words' token)."""
    form = _filter_form(request.form)
    if not form.validate():
        return _list_page(form, filter_panel(form, None)), 400
    return redirect(_address("reports.case_list", form), 303)


@bp.get("/cases/all.csv")
@role_required(*EXPORT_ROLES)
@reauth_required
def export_case_list():
    if "q" in request.args:
        return _words_out_of_the_address("reports.export_case_list")
    form, _, ended = _address_form()
    if ended:
        flash(SEARCH_ENDED, "info")
    if ended or not form.validate():
        return _list_page(form, filter_panel(form, request.args)), 400
    body, rows = exports.export_cases(current_user, form.filters(), today=local_today())
    db.session.commit()
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": 'attachment; filename="cases.csv"',
            "Cache-Control": "no-store",
            "X-Case-Rows": str(rows),
        },
    )
