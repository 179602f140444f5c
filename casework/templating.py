"""Jinja filters and globals shared by every page."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, url_for

from casework.flows import default_workflow
from casework.models import utcnow
from workflows import WorkflowError


def local_time(value: datetime) -> datetime:
    """A stored naive-UTC time in the configured local zone."""
    return value.replace(tzinfo=UTC).astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return local_time(value).strftime("%Y-%m-%d %H:%M %Z")


def format_date(value: date | None) -> str:
    return value.isoformat() if value else ""


def state_label(state: str) -> str:
    """The label the default workflow gives a state."""
    try:
        return default_workflow().state_label(state)
    except WorkflowError:
        return state.replace("_", " ").capitalize()


def case_url_prefix() -> str | None:
    """The case page's URL without the reference (None where the app has no case page): a table of cases
    builds it once and appends each row's reference, instead of building fifty URLs."""
    if "cases.case_page" not in current_app.view_functions:
        return None
    return url_for("cases.case_page", reference="REFERENCE").removesuffix("REFERENCE")


def register(app: Flask) -> None:
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_date, "date")
    app.add_template_filter(state_label, "state_label")
    app.add_template_global(utcnow, "now_utc")
    app.add_template_global(case_url_prefix, "case_url_prefix")
