"""Time where the offices are: times are stored as naive UTC; dates and deadlines are local (TIMEZONE)."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def local_time(value: datetime, zone: ZoneInfo | None = None) -> datetime:
    """A stored naive-UTC time in the configured local zone."""
    return value.replace(tzinfo=UTC).astimezone(zone or local_zone())


def local_today() -> date:
    """Today in the institution's time zone (deadlines are local business days)."""
    return datetime.now(local_zone()).date()
