"""Sign-in and account forms."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from casework.forms import choices
from casework.vocabulary import OFFICES, ROLES


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])
    submit = SubmitField("Sign in")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=256)])
    new_password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=256)],
        description="At least 12 characters; not a common password.",
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("new_password", message="The two passwords differ.")],
    )
    submit = SubmitField("Change password")


class UserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    display_name = StringField("Display name", validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", choices=choices(ROLES), validators=[DataRequired()])
    office = SelectField(
        "Office",
        choices=choices(OFFICES, blank="— none —"),
        validators=[Optional()],
        description="Set automatically for roles that belong to an office.",
    )
    active = BooleanField("Account active", default=True)
    submit = SubmitField("Save")


class ConfirmForm(FlaskForm):
    """An empty form: a POST with a CSRF token."""

    submit = SubmitField("Confirm")


class CodeForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[DataRequired(message="Enter the code."), Length(max=64)],
        description="The 6-digit code from your authenticator app, or one of your recovery codes.",
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"},
    )
    submit = SubmitField("Continue")


class ReauthForm(FlaskForm):
    """Password (and code) again before a sensitive action. Used with prefix="reauth"; the global CSRF check
    covers it, so it carries no token of its own (the page it guards may replay another form's fields)."""

    class Meta:
        csrf = False

    password = PasswordField("Your password", validators=[DataRequired(), Length(max=256)])
    code = StringField(
        "Code from your authenticator app",
        validators=[Optional(), Length(max=64)],
        description="Or one of your recovery codes.",
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"},
    )
    submit = SubmitField("Confirm")
