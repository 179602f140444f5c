"""Forms of the "Case access" page: recusals, named users, restriction, and the lookup by reference."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length


class CaseLookupForm(FlaskForm):
    """Administrators reach a case's access page by typing its reference (a GET form)."""

    class Meta:
        csrf = False

    reference = StringField(
        "Case reference",
        validators=[DataRequired(message="Type a case reference."), Length(max=20)],
        description="For example OH-2026-00042.",
        filters=[lambda v: v.strip().upper() if v else v],
    )
    submit = SubmitField("Open access settings")


class RecusalForm(FlaskForm):
    user_id = SelectField("Person to recuse", validators=[DataRequired(message="Choose a person.")])
    reason = TextAreaField(
        "Reason",
        validators=[DataRequired(message="Say why this person is recused."), Length(max=500)],
        description="Kept with the case for intake; never written to the audit trail.",
    )
    submit = SubmitField("Recuse")


class GrantForm(FlaskForm):
    user_id = SelectField("Person to name on the case", validators=[DataRequired(message="Choose a person.")])
    submit = SubmitField("Name on the case")


class RestrictForm(FlaskForm):
    restricted = HiddenField(validators=[AnyOf(["0", "1"])])
    submit = SubmitField("Change")


class ConfirmForm(FlaskForm):
    """An empty form: a POST with a CSRF token."""

    submit = SubmitField("Remove")
