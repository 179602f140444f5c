"""The report form (public and staff), the follow-up sign-in and the follow-up message form."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields import EmailField, TelField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from casework.clock import local_today
from casework.forms import choices
from casework.vocabulary import AFFILIATIONS, BEHAVIOURS, CHANNELS, CONTACT_PREFERENCES, PARTY_KINDS, PLATFORMS

NARRATIVE_MAX = 50_000
MAX_PARTIES = 30
START_PARTIES = 3
MAX_LINKS = 20
LINK_MAX = 2_000
MESSAGE_MAX = 20_000
YES_NO_UNSURE = {"yes": "Yes", "no": "No", "unsure": "I'm not sure"}
YES_NO = {"yes": "Yes", "no": "No"}
PARTY_AFFILIATIONS = AFFILIATIONS
REPORTER_AFFILIATIONS = {k: v for k, v in AFFILIATIONS.items() if k != "unknown"}
PARTY_ROLES = {"respondent": "The person harassing me", "witness": "A witness"}
STAFF_CHANNELS = {k: v for k, v in CHANNELS.items() if k != "web"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_PHONE = re.compile(r"^[0-9+()./\- ]{3,40}$")

assert set(PARTY_ROLES) == set(PARTY_KINDS)


def clean_text(value):
    """Drop control characters (NUL included) and unify line ends; text stays otherwise as typed."""
    if not isinstance(value, str):
        return value
    value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value.strip()


class CleanMeta:
    """Every text field of these forms is cleaned of control characters before validation."""

    def bind_field(self, form, unbound_field, options):
        if issubclass(unbound_field.field_class, StringField):
            options["filters"] = [clean_text, *options.get("filters", ())]
        return super().bind_field(form, unbound_field, options)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _blank_to_none(value):
    return value or None


class PartyForm(Form):
    """One person involved; every part is optional and a blank row is ignored."""

    class Meta(CleanMeta, Form.Meta):
        pass

    kind = SelectField("Their part", choices=choices(PARTY_ROLES), default="respondent")
    name = StringField("Name, if known", validators=[Length(max=200)])
    handle = StringField("Handle or username", validators=[Length(max=200)])
    platform = SelectField("Platform", choices=choices(PLATFORMS, blank="Not known"), validators=[Optional()])
    affiliation = SelectField(
        "Their connection to the university", choices=choices(PARTY_AFFILIATIONS, blank="Not known"),
        validators=[Optional()],
    )  # fmt: skip
    relationship = StringField("How you know them", validators=[Length(max=200)])

    @property
    def is_blank(self) -> bool:
        return not any((self.name.data, self.handle.data, self.relationship.data))


def parse_links(text: str | None) -> tuple[list[str], list[str]]:
    """(links, problems) from text with one web address per line."""
    links: list[str] = []
    problems: list[str] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        url = line.strip()
        if not url:
            continue
        if len(url) > LINK_MAX:
            problems.append(f"Line {number} is too long to be a web address (at most {LINK_MAX:,} characters).")
            continue
        parts = urlsplit(url) if url.isprintable() else None
        if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            problems.append(f"Line {number} is not a web address; it should start with https://")
            continue
        if url not in links:
            links.append(url)
    if len(links) > MAX_LINKS:
        problems.append(f"Give at most {MAX_LINKS} links; you gave {len(links)}.")
    return links, problems


class ReportForm(FlaskForm):
    """The public report form; the staff form adds the channel."""

    class Meta(CleanMeta, FlaskForm.Meta):
        @property
        def csrf_time_limit(self):
            # Frightened people take their time: the form stays valid for a day.
            return current_app.config["REPORT_CSRF_TIME_LIMIT"]

    staging_token = HiddenField()
    identity = RadioField(
        "How would you like to tell us?",
        choices=choices(
            {
                "anonymous": "Anonymously — we will not know who you are",
                "named": "With my contact details — so the office can talk with you",
            }
        ),
        default="anonymous",
    )
    name = StringField("Your name", validators=[Length(max=200)])
    email = EmailField("Email address", validators=[Length(max=254)])
    phone = TelField("Phone number", validators=[Length(max=40)])
    affiliation = SelectField(
        "You are", choices=choices(REPORTER_AFFILIATIONS, blank="Choose one (optional)"), validators=[Optional()]
    )
    contact_preference = RadioField(
        "How should we contact you?", choices=choices(CONTACT_PREFERENCES), validators=[Optional()]
    )
    consent_share_identity = BooleanField(
        "You may share who I am with Student Conduct and the campus police (UMPD) if my report is referred to them."
    )

    narrative = TextAreaField(
        "Describe what happened, in as much detail as you can",
        validators=[
            DataRequired("Tell us what happened: this is the one part of the form we need."),
            Length(max=NARRATIVE_MAX, message=f"This is limited to {NARRATIVE_MAX:,} characters."),
        ],
        render_kw={"rows": 14},
    )
    parties = FieldList(FormField(PartyForm), min_entries=START_PARTIES, max_entries=MAX_PARTIES)
    add_party = SubmitField("Add another person")
    platforms = MultiCheckboxField("Where is it happening?", choices=choices(PLATFORMS), validators=[Optional()])
    platform_other = StringField("Other platform", validators=[Length(max=200)])
    began_on = DateField("When did it begin?", validators=[Optional()])
    began_approximate = BooleanField("This date is approximate")
    ongoing = RadioField("Is it still going on?", choices=choices(YES_NO_UNSURE), validators=[Optional()])
    connected = RadioField(
        "Is it connected to something specific, such as an article, commentary or a social-media post?",
        choices=choices(YES_NO_UNSURE),
        validators=[Optional()],
    )
    connection_details = TextAreaField(
        "What is it connected to? Describe it and add links if you have them", validators=[Length(max=10_000)]
    )
    behaviours = MultiCheckboxField("What kind of behaviour?", choices=choices(BEHAVIOURS), validators=[Optional()])
    behaviour_other = StringField("Other behaviour", validators=[Length(max=200)])
    links = TextAreaField("Links to the offending content (one per line)", validators=[Length(max=MAX_LINKS * 2100)])
    files = MultipleFileField("Add screenshots or documents")
    in_danger = RadioField("Do you feel in immediate danger?", choices=choices(YES_NO), validators=[Optional()])
    website = StringField("Leave this field empty", validators=[Length(max=200)])  # honeypot
    submit = SubmitField("Send report")

    def validate_email(self, field):
        if self.identity.data == "named" and field.data:
            Email("Enter an email address like name@example.edu.")(self, field)

    def validate_phone(self, field):
        if self.identity.data == "named" and field.data and not _PHONE.match(field.data):
            raise ValidationError("Enter a phone number using digits, spaces and + ( ) - only.")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.identity.data == "named" and not (self.email.data or self.phone.data):
            # Reported on the email field, where the reporter can act on it.
            self.email.errors = [*self.email.errors, "Give an email address or a phone number so we can reach you."]
            valid = False
        return valid

    def validate_identity(self, field):
        if field.data not in ("anonymous", "named"):
            raise ValidationError("Choose anonymously or with your contact details.")

    def validate_began_on(self, field):
        if field.data and field.data > local_today():  # the institution's day, not the server's
            raise ValidationError("That date is in the future; give the day it began, or leave it empty.")
        if field.data and field.data.year < 1900:
            raise ValidationError("Give a year after 1900.")

    def validate_platform_other(self, field):
        if "other" in (self.platforms.data or []) and not field.data:
            raise ValidationError("You ticked 'Other': tell us which platform.")

    def validate_behaviour_other(self, field):
        if "other" in (self.behaviours.data or []) and not field.data:
            raise ValidationError("You ticked 'Other': describe the behaviour in a few words.")

    def validate_links(self, field):
        _links, problems = parse_links(field.data)
        if problems:
            raise ValidationError(" ".join(problems[:3]))

    def validate_website(self, field):
        if field.data:
            raise ValidationError("This field must be left empty.")

    def discard_contact(self) -> None:
        """Anonymous means anonymous: contact details typed before switching are dropped."""
        for name in ("name", "email", "phone", "affiliation", "contact_preference"):
            self[name].data = None
            self[name].raw_data = []
            self[name].errors = []
        self.consent_share_identity.data = False


class StaffReportForm(ReportForm):
    """A report taken by phone, in person or by email, recorded by staff."""

    class Meta(CleanMeta, FlaskForm.Meta):
        pass

    channel = SelectField("How the report reached us", choices=choices(STAFF_CHANNELS), default="phone")
    identity = RadioField(
        "Does the reporter want to stay anonymous?",
        choices=choices({"anonymous": "Anonymous — record no contact details", "named": "Record contact details"}),
        default="anonymous",
    )
    submit = SubmitField("Record the report")


class FollowUpSignInForm(FlaskForm):
    class Meta(CleanMeta, FlaskForm.Meta):
        pass

    reference = StringField(
        "Case reference", validators=[DataRequired("Enter the reference, e.g. OH-2026-00042."), Length(max=40)]
    )
    key = StringField(
        "Follow-up key", validators=[DataRequired("Enter your follow-up key."), Length(max=64)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )  # fmt: skip
    submit = SubmitField("Open my report")


class FollowUpMessageForm(FlaskForm):
    class Meta(CleanMeta, FlaskForm.Meta):
        pass

    staging_token = HiddenField()
    message = TextAreaField(
        "Your message", validators=[Length(max=MESSAGE_MAX, message=f"At most {MESSAGE_MAX:,} characters.")]
    )
    links = TextAreaField("Links (one per line)", validators=[Length(max=MAX_LINKS * 2100)])
    files = MultipleFileField("Add screenshots or documents")
    submit = SubmitField("Send")

    def validate_links(self, field):
        _links, problems = parse_links(field.data)
        if problems:
            raise ValidationError(" ".join(problems[:3]))


def normalized_text(value: str | None) -> str | None:
    """Text as stored: as typed (cleaned of control characters), or None when empty.

    Not NFC-normalised: some characters grow under NFC, and a field at its length limit must still fit its column.
    """
    return value or None
