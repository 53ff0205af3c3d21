"""The rule packs' calendar arithmetic: the shared one of `lif.calendar` (reminders count the same days)."""

from lif.calendar import PeriodUnit, add_months, add_period, add_working_days, is_working_day

__all__ = ["PeriodUnit", "add_months", "add_period", "add_working_days", "is_working_day"]
