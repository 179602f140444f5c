"""Deadlines are counted in business days: Monday to Friday, holidays skipped."""

from datetime import date

import pytest

from workflows import Deadline, add_business_days, is_business_day

FRIDAY = date(2026, 3, 6)
SATURDAY = date(2026, 3, 7)
MONDAY = date(2026, 3, 9)


def test_friday_plus_one_business_day_is_monday():
    assert add_business_days(FRIDAY, 1) == MONDAY


def test_weekend_start_counts_from_monday():
    assert add_business_days(SATURDAY, 1) == MONDAY


def test_zero_business_days_is_the_same_day():
    assert add_business_days(FRIDAY, 0) == FRIDAY


def test_a_full_week_is_five_business_days():
    assert add_business_days(MONDAY, 5) == date(2026, 3, 16)


def test_holidays_are_skipped():
    holidays = frozenset({MONDAY, date(2026, 3, 10)})
    assert add_business_days(FRIDAY, 1, holidays) == date(2026, 3, 11)
    assert not is_business_day(MONDAY, holidays)
    assert is_business_day(MONDAY)


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        add_business_days(FRIDAY, -1)


def test_deadline_due_date_uses_business_days():
    assert Deadline(2, "triage").due(FRIDAY) == date(2026, 3, 10)
    assert Deadline(60, "close").due(date(2026, 1, 5)) == date(2026, 3, 30)
