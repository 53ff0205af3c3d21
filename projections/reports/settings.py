"""Each board's reporting-year setting: when its year starts, every change kept as a new version.

The business manager (or an admin) changes it over HTTP or with `lif boards reporting-year`; a board that
never set it has the default, 1 April (rules.md section 8). It lives in the projections' schema beside the
read model the reports are made from, but it is not a projection: a rebuild keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from projections.reports.periods import DEFAULT_START_MONTH
from projections.schema import SCHEMA

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class ReportingYearSetting:
    """A board's reporting-year start; `version` 0 is the default nobody set."""

    lscb: str
    start_month: int = DEFAULT_START_MONTH
    version: int = 0
    set_by: str | None = None
    set_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        start = MONTHS[self.start_month - 1]
        end = MONTHS[(self.start_month - 2) % 12]
        return {
            "lscb": self.lscb,
            "start_month": self.start_month,
            "runs": f"1 {start} to the end of {end}",
            "version": self.version,
            "default": self.version == 0,
            "set_by": self.set_by,
            "set_at": None if self.set_at is None else self.set_at.isoformat(),
        }


async def current_setting(pool: Any, lscb: str) -> ReportingYearSetting:
    """The board's latest setting, or the default. `pool`: a pool or a connection."""
    row = await pool.fetchrow(
        f"SELECT * FROM {SCHEMA}.reporting_year_settings WHERE lscb = $1 ORDER BY version DESC LIMIT 1", lscb
    )
    return _setting(row) if row is not None else ReportingYearSetting(lscb)


async def setting_history(pool: asyncpg.Pool, lscb: str) -> list[ReportingYearSetting]:
    """Every version the board set, oldest first."""
    rows = await pool.fetch(f"SELECT * FROM {SCHEMA}.reporting_year_settings WHERE lscb = $1 ORDER BY version", lscb)
    return [_setting(row) for row in rows]


async def set_start_month(pool: asyncpg.Pool, lscb: str, start_month: int, set_by: str) -> ReportingYearSetting:
    """Record a new version (the same month again changes nothing and answers the current version)."""
    if not 1 <= start_month <= 12:
        raise ValueError("start_month is 1 to 12")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 7301))", f"reporting-year:{lscb}")
        current = await current_setting(conn, lscb)
        if current.start_month == start_month and current.version > 0:
            return current
        row = await conn.fetchrow(
            f"INSERT INTO {SCHEMA}.reporting_year_settings (lscb, version, start_month, set_by) "
            "VALUES ($1, $2, $3, $4) RETURNING *",
            lscb,
            current.version + 1,
            start_month,
            set_by,
        )
    assert row is not None  # INSERT ... RETURNING answers the row it made
    return _setting(row)


def _setting(row: asyncpg.Record) -> ReportingYearSetting:
    return ReportingYearSetting(row["lscb"], row["start_month"], row["version"], row["set_by"], row["set_at"])
