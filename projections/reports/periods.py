"""Reporting periods: a board's reporting year (rules.md section 8) and any period the region asks for.

A reporting year starts on the first day of the board's start month (default April) and ends the day before
the same date a year later; `year` names the calendar year it starts in (2026 with an April start: 1 April
2026 to 31 March 2027, "2026-27"). Events count in the period of their business date, a Europe/London
calendar date, never their record date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from lif.clock import LONDON

DEFAULT_START_MONTH = 4
"""1 April to 31 March, unless the board's configuration says otherwise."""

FIRST_YEAR = 2000
LAST_YEAR = 2099
"""Reporting years a report may be asked for (every date in them is a valid LIF date)."""

MAX_PERIOD_DAYS = 366 * 10
"""The longest regional digest period: ten years."""


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both included (calendar dates in Europe/London)."""

    start: date
    end: date
    label: str

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a period ends on or after its start")

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end

    def as_of(self, today: date) -> date:
        """The day a period's state figures (reviews in progress, open obligations) are taken on: its last
        day, or today while it is still running."""
        return min(self.end, today)

    @property
    def start_instant(self) -> datetime:
        """The first instant of `start` in Europe/London, as UTC (for `occurred_at >= ...`)."""
        return datetime.combine(self.start, time(0), LONDON).astimezone(UTC)

    @property
    def end_instant(self) -> datetime:
        """The first instant after `end` in Europe/London, as UTC (for `occurred_at < ...`)."""
        return datetime.combine(self.end + timedelta(days=1), time(0), LONDON).astimezone(UTC)

    def as_json(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "label": self.label}


def reporting_year(year: int, start_month: int = DEFAULT_START_MONTH) -> Period:
    """The reporting year that starts in calendar year `year` on the first of `start_month`."""
    if not 1 <= start_month <= 12:
        raise ValueError("start_month is 1 to 12")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"year is {FIRST_YEAR} to {LAST_YEAR}")
    start = date(year, start_month, 1)
    next_start = date(year + 1, start_month, 1)
    label = str(year) if start_month == 1 else f"{year}-{(year + 1) % 100:02d}"
    return Period(start, next_start - timedelta(days=1), label)


def reporting_year_of(day: date, start_month: int = DEFAULT_START_MONTH) -> int:
    """The `year` of the reporting year `day` falls in."""
    return day.year if day.month >= start_month else day.year - 1


def period(start: date, end: date) -> Period:
    """Any period (the regional digest's), refused when it runs backwards or longer than ten years."""
    if end < start:
        raise ValueError("to is before from")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise ValueError("a period is at most ten years")
    return Period(start, end, f"{start.isoformat()} to {end.isoformat()}")


def business_date(instant: datetime) -> date:
    """The Europe/London calendar date of an event's business time (`occurred_at`)."""
    return instant.astimezone(LONDON).date()
