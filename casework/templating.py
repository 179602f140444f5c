"""Jinja filters and globals shared by every page."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app

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


def register(app: Flask) -> None:
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_date, "date")
    app.add_template_filter(state_label, "state_label")
    app.add_template_global(utcnow, "now_utc")
