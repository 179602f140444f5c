"""QuickForm renders exactly the markup WTForms would, for every field kind the case page uses."""

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from casework.forms import QuickForm, choices

HOSTILE = 'He said "stop" <script>alert(1)</script> & left'


def _fields():
    return {
        "version": HiddenField(),
        "name": StringField("Name", validators=[DataRequired(), Length(max=50)], render_kw={"maxlength": 50}),
        "body": TextAreaField("Body", validators=[DataRequired(message="Write it."), Length(min=2, max=20_000)]),
        "level": SelectField(
            "Level",
            choices=choices({"low": "Low", "high": 'High "& <b>'}, blank="Choose…"),
            render_kw={"required": True},
        ),
        "many": SelectMultipleField("Many", choices=choices({"a": "A", "b": "B"})),
        "submit": SubmitField('Send "it"'),
    }


def _render_all(form) -> list[str]:
    rendered = [str(form.hidden_tag())]
    for name in ("version", "name", "body", "level", "many", "submit"):
        field = form[name]
        rendered.append(str(field()))
        rendered.append(str(field(class_="button primary", aria_describedby="a-hint a-error", aria_invalid="true")))
        rendered.append(str(field(disabled=True, readonly=False, data_x_y="1")))
    return rendered


@pytest.mark.parametrize(
    "formdata",
    [
        None,
        MultiDict({"version": '3"', "name": HOSTILE, "body": HOSTILE, "level": "high", "many": ["a", "b"]}),
        MultiDict({"level": "nonsense", "body": "x"}),
    ],
)
@pytest.mark.parametrize("csrf", [False, True])
def test_quick_forms_render_the_same_markup_as_wtforms(app, formdata, csrf):
    plain = type("PlainForm", (FlaskForm,), _fields())
    quick = type("QuickTestForm", (QuickForm,), _fields())
    app.config["WTF_CSRF_ENABLED"] = csrf
    try:
        with app.test_request_context("/", method="POST"):
            expected, actual = plain(formdata=formdata, prefix="p"), quick(formdata=formdata, prefix="p")
            if formdata is not None:
                expected.validate(), actual.validate()
            assert actual.errors == expected.errors
            assert _render_all(actual) == _render_all(expected)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
