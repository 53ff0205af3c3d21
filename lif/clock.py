"""Business dates are Europe/London calendar dates; the clock is injectable for tests and replays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

Today = Callable[[], date]


def today_london() -> date:
    return datetime.now(UTC).astimezone(LONDON).date()
