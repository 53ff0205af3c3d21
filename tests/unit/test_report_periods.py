"""Reporting years and periods: where a year starts and ends, its label, and what is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from projections.reports.periods import business_date, period, reporting_year, reporting_year_of


def test_the_default_year_runs_from_1_april_to_31_march() -> None:
    year = reporting_year(2026)
    assert (year.start, year.end, year.label) == (date(2026, 4, 1), date(2027, 3, 31), "2026-27")
    assert year.holds(date(2027, 3, 31)) and not year.holds(date(2027, 4, 1)) and not year.holds(date(2026, 3, 31))


def test_a_board_may_start_its_year_in_another_month() -> None:
    assert reporting_year(2015, 1).as_json() == {"from": "2015-01-01", "to": "2015-12-31", "label": "2015"}
    september = reporting_year(2015, 9)
    assert (september.start, september.end) == (date(2015, 9, 1), date(2016, 8, 31))
    assert reporting_year(2015, 3).end == date(2016, 2, 29)  # a leap year's February ends the year before March


@pytest.mark.parametrize(
    ("day", "start_month", "year"),
    [
        (date(2015, 3, 31), 4, 2014),
        (date(2015, 4, 1), 4, 2015),
        (date(2015, 12, 31), 1, 2015),
        (date(2016, 1, 1), 1, 2016),
    ],
)
def test_the_year_a_day_falls_in(day: date, start_month: int, year: int) -> None:
    assert reporting_year_of(day, start_month) == year
    assert reporting_year(year, start_month).holds(day)


def test_instants_are_london_midnights() -> None:
    year = reporting_year(2015)  # 1 April 2015 is in British Summer Time: midnight is 23:00 UTC the day before
    assert year.start_instant == datetime(2015, 3, 31, 23, 0, tzinfo=UTC)
    assert year.end_instant == datetime(2016, 3, 31, 23, 0, tzinfo=UTC)
    assert business_date(datetime(2015, 3, 31, 23, 30, tzinfo=UTC)) == date(2015, 4, 1)


def test_the_state_of_a_running_period_is_taken_today() -> None:
    year = reporting_year(2015)
    assert year.as_of(date(2015, 9, 16)) == date(2015, 9, 16)
    assert year.as_of(date(2020, 1, 1)) == date(2016, 3, 31)


@pytest.mark.parametrize(("year", "month"), [(1999, 4), (2100, 4), (2015, 0), (2015, 13)])
def test_out_of_range_years_and_months_are_refused(year: int, month: int) -> None:
    with pytest.raises(ValueError):
        reporting_year(year, month)


def test_any_period_up_to_ten_years() -> None:
    assert period(date(2015, 1, 1), date(2015, 1, 1)).label == "2015-01-01 to 2015-01-01"
    with pytest.raises(ValueError, match="before"):
        period(date(2015, 1, 2), date(2015, 1, 1))
    with pytest.raises(ValueError, match="ten years"):
        period(date(2000, 1, 1), date(2011, 1, 1))
