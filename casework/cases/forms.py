"""Case-work forms. A transition's form is built from its TransitionSpec; the engine validates it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from casework.forms import QuickForm, choices
from casework.vocabulary import NOTE_VISIBILITIES
from workflows import TransitionSpec

if TYPE_CHECKING:
    from casework.cases.service import Candidate


class CaseForm(QuickForm):
    """A form of the case page. CSRFProtect checks the token of every post to it, and the page writes the token
    into each form (`csrf_token()`): the form neither checks it again nor builds a field for it (a case page has
    five or six forms; their token fields took 0.2 of its 7 ms)."""

    class Meta:
        csrf = False


class VersionedForm(CaseForm):
    """Carries the case version the user saw, for the optimistic-locking check."""

    version = HiddenField()

    def expected_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


_FORM_CLASSES: dict[TransitionSpec, type[VersionedForm]] = {}


def transition_form_class(spec: TransitionSpec) -> type[VersionedForm]:
    """A form class with one field per field of the transition: choice → select, text → input, longtext → textarea."""
    if spec in _FORM_CLASSES:
        return _FORM_CLASSES[spec]
    attrs = {}
    for f in spec.fields:
        render_kw = {"required": True} if f.required else {}
        if f.max_length:
            render_kw["maxlength"] = f.max_length
        if f.kind == "choice":
            # The engine checks the value and words the message; WTForms' own check would duplicate it.
            attrs[f.name] = SelectField(
                f.label, choices=choices(dict(f.choices), blank="Choose…"), validate_choice=False, render_kw=render_kw
            )
        elif f.kind == "longtext":
            attrs[f.name] = TextAreaField(f.label, render_kw=render_kw)
        else:
            attrs[f.name] = StringField(f.label, render_kw=render_kw)
    attrs["submit"] = SubmitField(spec.label)
    form_class = type(f"TransitionForm_{spec.trigger}", (VersionedForm,), attrs)
    _FORM_CLASSES[spec] = form_class
    return form_class


def transition_form(spec: TransitionSpec, version: int | None = None, **kwargs) -> VersionedForm:
    """The form of one action; field names are prefixed by the trigger so several forms fit one page."""
    form = transition_form_class(spec)(prefix=spec.trigger, **kwargs)
    if version is not None and not form.version.data:
        form.version.data = str(version)
    return form


def transition_data(form: VersionedForm, spec: TransitionSpec) -> dict[str, str]:
    return {f.name: form[f.name].data or "" for f in spec.fields}


class AssignForm(VersionedForm):
    assignee = SelectField("Assign to", validate_choice=False)
    submit = SubmitField("Assign")

    def set_candidates(self, users: list[Candidate]) -> None:
        self.assignee.choices = choices({str(u.id): u.display_name for u in users}, blank="— nobody (unassigned) —")


class NoteForm(CaseForm):
    body = TextAreaField("Note", validators=[DataRequired(message="Write the note first."), Length(max=20_000)])
    visibility = SelectField("Who may read it", choices=choices(NOTE_VISIBILITIES), default="office")
    submit = SubmitField("Add note")


class MessageForm(CaseForm):
    body = TextAreaField(
        "Reply to the reporter",
        validators=[DataRequired(message="Write the message first."), Length(max=10_000)],
        description="The reporter reads this in the follow-up portal with their reference and key.",
    )
    submit = SubmitField("Send reply")
