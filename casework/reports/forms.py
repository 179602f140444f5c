"""Filters of the case list: posted, then read from the list's address, which holds the filters but never the
search text (reports.list_routes)."""

from functools import partial

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import BooleanField, DateField, StringField
from wtforms import SelectField as _SelectField
from wtforms.validators import Length, Optional, ValidationError
from wtforms.widgets import Select, html_params

from casework.forms import choices
from casework.reports.listing import OPEN, PAGE_SIZES, SORTS, CaseFilters
from casework.vocabulary import BEHAVIOURS, DISPOSITIONS, OFFICES, PLATFORMS, RISK_LEVELS


class QuickSelect(Select):
    """WTForms' select, with options joined as escaped strings: Markup.format per option made the
    filter form (about 80 options) the largest cost of a list page."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        options = "".join(
            f'<option value="{escape(c.value)}"{" selected" if c.selected else ""}>{escape(c.label)}</option>'
            for c in field.iter_choices()
        )
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")  # noqa: S704 - escaped


SelectField = partial(_SelectField, widget=QuickSelect())


class CaseFilterForm(FlaskForm):
    class Meta:
        csrf = False  # it also reads a list's address, which carries no token; CSRFProtect checks the post

    q = StringField(
        "Search the text",
        validators=[Optional(), Length(max=200, message="Use at most 200 characters.")],
        description="Words in the account, party names and handles, and notes you may read.",
    )
    state = SelectField("State", validators=[Optional()])
    office = SelectField("Office", choices=choices(OFFICES, blank="Any office"), validators=[Optional()])
    # Checked by validate_assignee: WTForms' own check walks every choice through several generators, which
    # for an office with hundreds of staff cost more than the page's rows.
    assignee = SelectField("Assigned to", validators=[Optional()], validate_choice=False)
    platform = SelectField("Platform", choices=choices(PLATFORMS, blank="Any platform"), validators=[Optional()])
    behaviour = SelectField("Behaviour", choices=choices(BEHAVIOURS, blank="Any behaviour"), validators=[Optional()])
    risk = SelectField("Risk level", choices=choices(RISK_LEVELS, blank="Any risk level"), validators=[Optional()])
    disposition = SelectField(
        "Disposition", choices=choices(DISPOSITIONS, blank="Any disposition"), validators=[Optional()]
    )
    urgent = BooleanField("Urgent only")
    overdue = BooleanField("Overdue only")
    created_from = DateField("Reported from", validators=[Optional()], description="e.g. 2026-01-31")
    created_to = DateField("Reported until", validators=[Optional()], description="e.g. 2026-12-31")
    sort = SelectField("Sort", choices=choices(SORTS), default="newest", validators=[Optional()])
    per_page = SelectField(
        "Per page", choices=choices({str(n): str(n) for n in PAGE_SIZES}), default="50", validators=[Optional()]
    )

    def __init__(self, *args, states: dict[str, str], assignees: dict[str, str], text_search: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.state.choices = choices({OPEN: "Any open state", **states}, blank="Any state")
        self.assignee.choices = choices({"me": "Me", "none": "Nobody", **assignees}, blank="Anyone")
        if not text_search:
            del self.q

    def validate_assignee(self, field):
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError("Not a valid choice.")

    def validate_created_to(self, field):
        if field.data and self.created_from.data and field.data < self.created_from.data:
            raise ValidationError("This date is before the “Reported from” date.")

    def filters(self, after: str = "") -> CaseFilters:
        """The validated filters (call after validate())."""
        data = {name: self[name].data for name in CaseFilters.__dataclass_fields__ if name in self}
        data["per_page"] = int(data.get("per_page") or 50)
        data["sort"] = data.get("sort") or "newest"
        data["q"] = (data.get("q") or "").strip()
        for name in ("state", "office", "assignee", "platform", "behaviour", "risk", "disposition"):
            data[name] = data.get(name) or ""
        return CaseFilters(**data, after=after)
