"""Calendar arithmetic for deadlines (rules.md section 2); every expected date is worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from services.decisioning.rules import add_months, add_period, add_working_days, is_working_day


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2015, 3, 10), 1, date(2015, 4, 10)),
        (date(2015, 1, 31), 1, date(2015, 2, 28)),
        (date(2016, 1, 31), 1, date(2016, 2, 29)),
        (date(2016, 1, 29), 1, date(2016, 2, 29)),
        (date(2015, 1, 28), 1, date(2015, 2, 28)),
        (date(2015, 3, 31), 1, date(2015, 4, 30)),
        (date(2015, 8, 31), 1, date(2015, 9, 30)),
        (date(2015, 12, 31), 1, date(2016, 1, 31)),
        (date(2015, 11, 30), 3, date(2016, 2, 29)),
        (date(2016, 2, 29), 12, date(2017, 2, 28)),
        (date(2015, 3, 31), -1, date(2015, 2, 28)),
        (date(2016, 1, 15), -1, date(2015, 12, 15)),
        (date(2015, 6, 30), 0, date(2015, 6, 30)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_easter_2019_is_skipped() -> None:
    # Thursday 18 April 2019; Good Friday 19 April and Easter Monday 22 April are bank holidays.
    assert add_working_days(date(2019, 4, 18), 1) == date(2019, 4, 23)
    assert add_working_days(date(2019, 4, 18), 5) == date(2019, 4, 29)
    # ... and Monday 6 May (early May bank holiday) too.
    assert add_working_days(date(2019, 4, 18), 15) == date(2019, 5, 14)


def test_start_on_a_bank_holiday_is_day_zero() -> None:
    assert add_working_days(date(2019, 4, 19), 0) == date(2019, 4, 19)
    assert add_working_days(date(2019, 4, 19), 1) == date(2019, 4, 23)
    assert add_working_days(date(2019, 4, 22), 1) == date(2019, 4, 23)


def test_may_bank_holidays_2019() -> None:
    # Friday 3 May: Monday 6 May is the early May bank holiday.
    assert add_working_days(date(2019, 5, 3), 1) == date(2019, 5, 7)
    # Friday 24 May: Monday 27 May is the Spring bank holiday.
    assert add_working_days(date(2019, 5, 24), 1) == date(2019, 5, 28)
    assert add_working_days(date(2019, 5, 24), 5) == date(2019, 6, 3)


def test_early_may_bank_holiday_moved_to_ve_day_in_2020() -> None:
    # In 2020 the early May bank holiday was Friday 8 May, not Monday 4 May.
    assert add_working_days(date(2020, 5, 1), 1) == date(2020, 5, 4)
    assert add_working_days(date(2020, 5, 7), 1) == date(2020, 5, 11)


def test_one_count_across_easter_and_both_may_bank_holidays_2019() -> None:
    # From Thursday 18 April 2019, skipping Good Friday 19 April, Easter Monday 22 April, 6 May and 27 May:
    # 23-26 April (4), 29 April-3 May (9), 7-10 May (13), 13-17 May (18), 20-24 May (23), 28 May (24).
    assert add_working_days(date(2019, 4, 18), 23) == date(2019, 5, 24)
    assert add_working_days(date(2019, 4, 18), 24) == date(2019, 5, 28)
    assert add_working_days(date(2019, 4, 18), 27) == date(2019, 5, 31)


def test_start_on_a_weekend() -> None:
    # Saturday 1 and Sunday 2 June 2019: working day 1 is Monday 3 June.
    assert add_working_days(date(2019, 6, 1), 1) == date(2019, 6, 3)
    assert add_working_days(date(2019, 6, 1), 5) == date(2019, 6, 7)
    assert add_working_days(date(2019, 6, 2), 5) == date(2019, 6, 7)
    assert add_working_days(date(2019, 6, 1), 0) == date(2019, 6, 1)


def test_substitute_days_and_the_turn_of_the_year() -> None:
    # Boxing Day 2020 was a Saturday: Monday 28 December was its substitute; 1 January 2021 a Friday.
    assert add_working_days(date(2020, 12, 24), 1) == date(2020, 12, 29)
    assert add_working_days(date(2020, 12, 31), 1) == date(2021, 1, 4)
    assert add_working_days(date(2020, 12, 24), 5) == date(2021, 1, 5)


def test_ordinary_week() -> None:
    # Monday 2 July 2018: no bank holidays in July.
    assert add_working_days(date(2018, 7, 2), 4) == date(2018, 7, 6)
    assert add_working_days(date(2018, 7, 2), 5) == date(2018, 7, 9)
    assert add_working_days(date(2018, 7, 6), 1) == date(2018, 7, 9)


def test_is_working_day() -> None:
    assert is_working_day(date(2019, 4, 18)) is True
    assert is_working_day(date(2019, 4, 19)) is False  # Good Friday
    assert is_working_day(date(2019, 4, 20)) is False  # Saturday
    assert is_working_day(date(2019, 8, 26)) is False  # Late Summer bank holiday (England)
    assert is_working_day(date(2019, 8, 5)) is True  # Scotland's summer holiday, not England's
    assert is_working_day(date(2019, 3, 18)) is True  # St Patrick's Day (observed in Northern Ireland only)


def test_negative_working_days_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        add_working_days(date(2019, 1, 7), -1)


@pytest.mark.parametrize(
    ("start", "unit", "amount", "expected"),
    [
        (date(2015, 1, 31), "months", 1, date(2015, 2, 28)),
        (date(2016, 1, 31), "months", 1, date(2016, 2, 29)),
        (date(2019, 4, 18), "days", 14, date(2019, 5, 2)),  # calendar days: holidays count
        (date(2019, 1, 31), "days", 14, date(2019, 2, 14)),
        (date(2019, 4, 18), "working_days", 5, date(2019, 4, 29)),
        (date(2019, 4, 18), "days", 0, date(2019, 4, 18)),
    ],
)
def test_add_period_counts_in_each_pack_unit(start: date, unit: str, amount: int, expected: date) -> None:
    assert add_period(start, unit, amount) == expected  # type: ignore[arg-type]


def test_add_period_refuses_an_unknown_unit() -> None:
    with pytest.raises(ValueError, match="unknown deadline unit 'weeks'"):
        add_period(date(2019, 1, 7), "weeks", 1)  # type: ignore[arg-type]
