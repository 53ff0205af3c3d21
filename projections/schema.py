"""Read-model tables (PostgreSQL, schema `lif_projections`): disposable, rebuilt from the events.

The tables are made by the projections' migrations (`projections/migrations/`), never at start-up: DDL run
by a starting process took locks in the opposite order to the live projector and deadlocked with it.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

SCHEMA = "lif_projections"

TABLES = ("positions", "processed_events", "cases", "case_events", "deadlines", "reviews")


async def reset(pool: asyncpg.Pool) -> None:
    """Empty every read-model table (for a rebuild from the events)."""
    tables = ", ".join(f"{SCHEMA}.{name}" for name in TABLES)
    await pool.execute(f"TRUNCATE {tables}")


def jsonb_text(value: Any) -> str:
    """A value as JSON text for a jsonb column (orjson: several times the standard library's speed; jsonb keeps
    the value, not the text, so the two are interchangeable)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
