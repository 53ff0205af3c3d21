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
    ref text NOT NULL DEFAULT '',
    due date NOT NULL,
    met_at timestamptz,
    met_on date,
    PRIMARY KEY (case_id, name, ref)
);
-- Issue 3: what the Chair's decisions, referrals, appointments, notices and themes add to a case. Added with
-- ALTER so that a read model made before them upgrades in place (a rebuild then fills them).
ALTER TABLE {SCHEMA}.cases
    ADD COLUMN IF NOT EXISTS considered_for_scr boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS referred_at timestamptz,
    ADD COLUMN IF NOT EXISTS referred_on date,
    ADD COLUMN IF NOT EXISTS decision jsonb,
    ADD COLUMN IF NOT EXISTS decisions_count integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS lead_reviewers jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN IF NOT EXISTS panel_notices jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN IF NOT EXISTS learning_themes jsonb;
ALTER TABLE {SCHEMA}.deadlines ADD COLUMN IF NOT EXISTS met_on date;
-- A deadline is one per (case, name, ref): '' for the case's own, a decision's event id for each T2 notice.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM information_schema.columns
        WHERE table_schema = '{SCHEMA}' AND table_name = 'deadlines' AND column_name = 'ref'
    ) THEN
        ALTER TABLE {SCHEMA}.deadlines ADD COLUMN ref text NOT NULL DEFAULT '';
        ALTER TABLE {SCHEMA}.deadlines DROP CONSTRAINT IF EXISTS deadlines_pkey;
        ALTER TABLE {SCHEMA}.deadlines ADD PRIMARY KEY (case_id, name, ref);
    END IF;
END $$;
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
