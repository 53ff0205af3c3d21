"""Read-model tables (PostgreSQL, schema `lif_projections`): disposable, rebuilt from the events.

The tables are made by the projections' migrations (`projections/migrations/`), never at start-up: DDL run
by a starting process took locks in the opposite order to the live projector and deadlocked with it.
"""

from __future__ import annotations

import asyncpg

SCHEMA = "lif_projections"

TABLES = ("positions", "processed_events", "cases", "case_events", "deadlines", "reviews")


async def reset(pool: asyncpg.Pool) -> None:
    """Empty every read-model table (for a rebuild from the events)."""
    tables = ", ".join(f"{SCHEMA}.{name}" for name in TABLES)
    await pool.execute(f"TRUNCATE {tables}")
