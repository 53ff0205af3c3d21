"""Read-model tables (PostgreSQL, schema `lif_projections`): disposable, rebuilt from the events."""

from __future__ import annotations

import asyncpg

SCHEMA = "lif_projections"

DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.positions (
    position_key text PRIMARY KEY,
    position bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.processed_events (
    event_id uuid PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.cases (
    case_id uuid PRIMARY KEY,
    lscb text NOT NULL,
    opened_at timestamptz,
    incident_date date,
    notified_date date,
    notifying_agency text,
    source_system text,
    child jsonb,
    facts jsonb,
    recommendation jsonb,
    review_type text,
    statutory_scr boolean,
    recommended_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS cases_by_board ON {SCHEMA}.cases (lscb, opened_at);
CREATE TABLE IF NOT EXISTS {SCHEMA}.case_events (
    event_id uuid PRIMARY KEY,
    case_id uuid NOT NULL,
    lscb text NOT NULL,
    event_type text NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    document jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS case_events_by_case ON {SCHEMA}.case_events (case_id, recorded_at);
CREATE TABLE IF NOT EXISTS {SCHEMA}.deadlines (
    case_id uuid NOT NULL,
    lscb text NOT NULL,
    name text NOT NULL,
    due date NOT NULL,
    met_at timestamptz,
    PRIMARY KEY (case_id, name)
);
"""

TABLES = ("positions", "processed_events", "cases", "case_events", "deadlines")


async def setup(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock(7201)")  # concurrent starters must not race on DDL
        try:
            await conn.execute(DDL)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(7201)")


async def reset(pool: asyncpg.Pool) -> None:
    """Empty every read-model table (for a rebuild from the events)."""
    await setup(pool)
    tables = ", ".join(f"{SCHEMA}.{name}" for name in TABLES)
    await pool.execute(f"TRUNCATE {tables}")
