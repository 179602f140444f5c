"""The filtered list of every case a user may see, and its CSV export."""

from functools import lru_cache
from urllib.parse import urlencode

from flask import Response, get_template_attribute, render_template, request
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


def _filter_form() -> CaseFilterForm:
    return CaseFilterForm(
        formdata=request.args,
        states=state_labels(),
        assignees=assignable_staff(),
        text_search=may_read_content(current_user),
    )


MAX_KEPT_QUERY = 1000  # a longer query string is rendered, not kept


def filter_panel(form: CaseFilterForm) -> Markup:
    """The filter form, rendered: the search box, and the other fields.

    Its fourteen fields cost more to render than the fifty rows of a page, and they are a function of the query
    string (less the search text) and the choices offered alone, so rendered panels are kept (the least recently
    used go first). With search text, the search box is rendered around the kept fields each time: the words
    someone searched for stay in no cache.
    """
    if len(request.query_string) > MAX_KEPT_QUERY:
        return _render_panel(form, _render_fields(form))
    args = tuple((name, value) for name, value in request.args.items(multi=True) if name not in ("after", "q"))
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


def _query_string(form: CaseFilterForm, **extra) -> str:
    pairs = [(f.name, f.data) for f in form if f.data not in (None, "", False)]
    pairs = [(name, "y" if value is True else value) for name, value in pairs]
    return urlencode(pairs + [(k, v) for k, v in extra.items() if v])


@bp.get("/cases/all")
@role_required(*ALL_STAFF)
def case_list():
    form = _filter_form()
    page = None
    today = local_today()
    if form.validate():
        page = listing.list_cases(current_user, form.filters(request.args.get("after", "")), today=today)
    with loaded_objects_kept_after_commit():
        db.session.commit()
    return render_template(
        "reports/case_list.html",
        form=form,
        filter_panel=filter_panel(form),
        page=page,
        query=_query_string(form),
        today=today,
        may_export=current_user.role in EXPORT_ROLES,
    )


@bp.get("/cases/all.csv")
@role_required(*EXPORT_ROLES)
@reauth_required
def export_case_list():
    form = _filter_form()
    if not form.validate():
        page = render_template(
            "reports/case_list.html", form=form, filter_panel=filter_panel(form), page=None, query="", may_export=True
        )
        return page, 400
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
