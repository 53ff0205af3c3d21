"""The read model a rebuild fills beside the live one (`lif_projections_next`), and the swap that makes it live.

The next schema gets the live tables' shape (`CREATE TABLE ... (LIKE ...)`), so it follows whatever the
migrations made, and its indexes only once the bulk load is in (building them then is cheaper than keeping
them up row by row). The swap renames the schemas in one transaction: a query names `lif_projections.<table>`
and finds either the old tables or the new ones, never none, and PostgreSQL re-plans cached statements
after a schema rename, so the live projector and the query layer need no pointer of their own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from lif.delivery.parking import PARKED_TABLE
from projections.schema import SCHEMA, TABLES

NEXT = f"{SCHEMA}_next"
OLD = f"{SCHEMA}_old"
STATE_TABLE = "rebuild_state"
"""The next schema's own record of how far the rebuild got (dropped at the swap)."""
REBUILT = (*TABLES, PARKED_TABLE)
"""The tables a rebuild fills from the events. Every other table of the live schema (the migrations' history,
settings such as the boards' reporting years) is no projection: copied, rows and all, into the new schema at
the swap, under a lock so no change to it is lost."""
KEYED_FROM_THE_START = ("positions", "parked_events")
"""Small tables a rebuild upserts and looks up from the start: made with their keys and indexes."""


async def _tables(conn: Any, schema: str) -> list[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename", schema)
    return [row["tablename"] for row in rows]


async def create_next(conn: Any, source: str, targets: dict[str, int]) -> None:
    """A fresh next schema: every read-model table of the live one, empty (most without indexes yet), and its state."""
    async with conn.transaction():
        await conn.execute(f"DROP SCHEMA IF EXISTS {NEXT} CASCADE")
        await conn.execute(f"CREATE SCHEMA {NEXT}")
        for table in await _tables(conn, SCHEMA):
            if table not in REBUILT:
                continue
            including = "ALL" if table in KEYED_FROM_THE_START else (
                "DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING CONSTRAINTS INCLUDING STORAGE "
                "INCLUDING COMMENTS"
            )
            await conn.execute(f"CREATE TABLE {NEXT}.{table} (LIKE {SCHEMA}.{table} INCLUDING {including})")
        await conn.execute(
            f"CREATE TABLE {NEXT}.{STATE_TABLE} (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), "
            "source text NOT NULL, phase text NOT NULL, targets jsonb NOT NULL, folded_after uuid, "
            "started_at timestamptz NOT NULL DEFAULT now())"
        )
        await conn.execute(
            f"INSERT INTO {NEXT}.{STATE_TABLE} (source, phase, targets) VALUES ($1, 'load', $2::jsonb)",
            source,
            json.dumps(targets, sort_keys=True),
        )


async def build_indexes(conn: Any, tables: Sequence[str] | None = None) -> None:
    """Give the next schema's tables (or these of them) the live ones' primary keys, constraints and indexes
    (idempotent)."""
    keyed = [t for t in REBUILT if t not in KEYED_FROM_THE_START and (tables is None or t in tables)]
    constraints = await conn.fetch(
        "SELECT c.conrelid::regclass AS tbl, rel.relname, c.conname, pg_get_constraintdef(c.oid) AS def "
        "FROM pg_constraint c JOIN pg_class rel ON rel.oid = c.conrelid "
        "JOIN pg_namespace n ON n.oid = rel.relnamespace "
        "WHERE n.nspname = $1 AND c.contype IN ('p', 'u', 'x') AND rel.relname = ANY($2::text[]) ORDER BY 2, 3",
        SCHEMA,
        keyed,
    )
    indexes = await conn.fetch(
        "SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = $1 "
        "AND i.tablename = ANY($2::text[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "JOIN pg_class ic ON ic.oid = c.conindid WHERE ic.relname = i.indexname AND c.connamespace = "
        "(SELECT oid FROM pg_namespace WHERE nspname = $1)) ORDER BY 1, 2",
        SCHEMA,
        keyed,
    )
    async with conn.transaction():
        for row in constraints:
            present = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = $1 AND connamespace = "
                "(SELECT oid FROM pg_namespace WHERE nspname = $2))",
                row["conname"],
                NEXT,
            )
            if not present:
                await conn.execute(
                    f'ALTER TABLE {NEXT}.{row["relname"]} ADD CONSTRAINT "{row["conname"]}" {row["def"]}'
                )
        for row in indexes:
            definition = row["indexdef"].replace(f" ON {SCHEMA}.", f" ON {NEXT}.", 1)
            definition = definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
            definition = definition.replace("CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX IF NOT EXISTS ", 1)
            await conn.execute(definition)


async def swap(conn: Any) -> None:
    """Inside the caller's transaction: make the next schema the live one, and the live one `OLD`.

    The caller holds the live projector off first (`hold_live_projector`) and finishes the catch-up in the same
    transaction, so no event applied to the old read model is missing from the new one.
    """
    for table in await _tables(conn, SCHEMA):
        if table not in REBUILT:
            await conn.execute(f"LOCK TABLE {SCHEMA}.{table} IN EXCLUSIVE MODE")
            await conn.execute(f"CREATE TABLE {NEXT}.{table} (LIKE {SCHEMA}.{table} INCLUDING ALL)")
            await conn.execute(f"INSERT INTO {NEXT}.{table} SELECT * FROM {SCHEMA}.{table}")

    await conn.execute(f"DROP TABLE {NEXT}.{STATE_TABLE}")
    await conn.execute(f"DROP SCHEMA IF EXISTS {OLD} CASCADE")
    await conn.execute(f"ALTER SCHEMA {SCHEMA} RENAME TO {OLD}")
    await conn.execute(f"ALTER SCHEMA {NEXT} RENAME TO {SCHEMA}")


async def hold_live_projector(conn: Any) -> None:
    """Inside the caller's transaction: wait for the live projector's transaction in flight, and hold off the next.

    Every transaction of the projector begins by recording its position, so the lock on `positions` is enough.
    """
    await conn.execute(f"LOCK TABLE {SCHEMA}.positions IN EXCLUSIVE MODE")


async def drop_old(conn: Any) -> None:
    await conn.execute(f"DROP SCHEMA IF EXISTS {OLD} CASCADE")
