"""Business-day arithmetic for workflow deadlines (Monday to Friday, minus holidays)."""

from __future__ import annotations

from datetime import date, timedelta


def is_business_day(day: date, holidays: frozenset[date] = frozenset()) -> bool:
    """True when ``day`` is a weekday and not a holiday."""
    return day.weekday() < 5 and day not in holidays


def add_business_days(start: date, n: int, holidays: frozenset[date] = frozenset()) -> date:
    """Return the date ``n`` business days after ``start`` (``start`` itself is not counted).

    Friday + 1 is Monday; a Saturday + 1 is also Monday; ``n == 0`` returns ``start``.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    day = start
    remaining = n
    while remaining:
        day += timedelta(days=1)
        if is_business_day(day, holidays):
            remaining -= 1
    return day
