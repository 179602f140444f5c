"""The auditor's forms: trail filters (a GET search), verification, export."""

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from casework.auditing.service import EXPORT_FORMATS
from casework.forms import choices


class TrailFilterForm(FlaskForm):
    """Filters for the trail; read from the query string, so no CSRF token."""

    class Meta:
        csrf = False

    case = StringField(
        "Case reference",
        validators=[Optional(), Length(max=20)],
        description="For example OH-2026-00042, or #42 for the case numbered 42 (also after a purge).",
        filters=[lambda v: v.strip().upper() if v else v],
    )
    # Optional() lets whitespace-only input past the choice check: strip it, so it means "anyone".
    actor = SelectField("Actor", validators=[Optional()], filters=[lambda v: v.strip() if v else v])
    action = StringField(
        "Action",
        validators=[
            Optional(),
            Length(max=64),
            Regexp(r"^[a-z0-9_.]+\*?$", message="Use an action such as case.view, or a prefix such as auth."),
        ],
        description="An action such as case.view, or a prefix ending in a dot, such as auth.",
        filters=[lambda v: v.strip().lower() if v else v],
    )
    date_from = DateField("From (UTC)", validators=[Optional()])
    date_to = DateField("To (UTC)", validators=[Optional()])
    submit = SubmitField("Filter")

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")


class ExportForm(TrailFilterForm):
    # No Optional(): it would let an empty or blank format through unchecked (validate_format says what is wrong).
    format = SelectField(
        "Format", choices=choices({"csv": "CSV", "jsonl": "JSON lines"}), default="csv", validate_choice=False
    )
    submit = SubmitField("Download")

    def validate_format(self, field):
        if field.data not in EXPORT_FORMATS:
            raise ValidationError("Choose CSV or JSON lines.")


class VerifyForm(FlaskForm):
    checkpoint = TextAreaField(
        "Checkpoint (optional)",
        validators=[Optional(), Length(max=4000)],
        description="Paste a checkpoint printed by `flask audit checkpoint` to prove the trail still extends it.",
    )
    submit = SubmitField("Verify the trail now")
