"""Calendar arithmetic for statutory deadlines and their reminders (rules.md sections 2 and 8).

Dates are calendar dates in Europe/London; no times, no time zones. Bank holidays come from the `holidays`
package (England), so the only moving part is that package's data, which is versioned with the build.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from datetime import date, timedelta
from functools import cache
from typing import Literal

import holidays

PeriodUnit = Literal["months", "days", "working_days"]
"""The units a pack counts a deadline in: calendar months (clamped), calendar days, England's working days."""


def add_months(start: date, months: int) -> date:
    """`start` plus whole calendar months, clamped to the month's end (31 Jan + 1 month = 28/29 Feb).

    Clamping rather than rolling over keeps a one-month deadline inside the next month, as the framework's
    "within one month" is read by boards.
    """
    index = start.year * 12 + (start.month - 1) + months
    year, month_index = divmod(index, 12)
    month = month_index + 1
    last_day = _stdlib_calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last_day))


@cache
def _england_bank_holidays(year: int) -> frozenset[date]:
    """England's bank holidays (including substitute days) for one year, cached: it never changes in a run."""
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day: date) -> bool:
    """A weekday that is not a bank holiday in England."""
    return day.weekday() < 5 and day not in _england_bank_holidays(day.year)


def add_working_days(start: date, working_days: int) -> date:
    """The date `working_days` working days after `start` in England.

    The start date is day 0 whatever day it is (a weekend or a holiday included); working day 1 is the first
    weekday after it that is not an England bank holiday. Zero returns `start` itself.
    """
    if working_days < 0:
        raise ValueError("working_days must not be negative")
    day = start
    remaining = working_days
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def add_period(start: date, unit: PeriodUnit, amount: int) -> date:
    """`start` plus `amount` of a pack's deadline unit; the one place a deadline's length becomes a date."""
    if unit == "months":
        return add_months(start, amount)
    if unit == "working_days":
        return add_working_days(start, amount)
    if unit == "days":
        return start + timedelta(days=amount)
    raise ValueError(f"unknown deadline unit {unit!r} (known: months, days, working_days)")


def subtract_working_days(start: date, working_days: int) -> date:
    """The date `working_days` working days before `start` (a reminder "2 working days before" a due date)."""
    if working_days < 0:
        raise ValueError("working_days must not be negative")
    day = start
    remaining = working_days
    while remaining:
        day -= timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day
