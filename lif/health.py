"""Readiness: are the consumers running, and has any of them parked an event?

`/healthz` stays a liveness check (the database answers). `/readyz` says whether the pipeline keeps up:
503 when a consumer this process runs has stopped, or the database does not answer; 200 otherwise, with
`status` "degraded" and the parked events named when a consumer has parked any (parking is the designed
way to keep going, so the API stays in service, but an operator must act: `lif parked list`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import asyncpg

from lif.delivery.parking import PARKED_TABLE

NAMED_LIMIT = 20


async def parked_overview(pool: asyncpg.Pool, schemas: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Per consumer: how many events are parked and the ids and types of the oldest (no payload, no reason)."""
    overview: dict[str, dict[str, Any]] = {}
    for consumer, schema in schemas.items():
        table = f'"{schema}".{PARKED_TABLE}'
        if await pool.fetchval("SELECT to_regclass($1)", table) is None:
            overview[consumer] = {"parked": 0, "events": []}
            continue
        count = await pool.fetchval(
            f"SELECT count(*) FROM {table} WHERE consumer = $1 AND status = 'parked'", consumer
        )
        rows = await pool.fetch(
            f"SELECT event_id, event_type FROM {table} WHERE consumer = $1 AND status = 'parked' "
            "ORDER BY seq LIMIT $2",
            consumer,
            NAMED_LIMIT,
        )
        overview[consumer] = {
            "parked": int(count),
            "events": [{"event_id": str(r["event_id"]), "event_type": r["event_type"]} for r in rows],
        }
    return overview


async def readiness(
    pool: asyncpg.Pool, schemas: Mapping[str, str], running: Callable[[], Mapping[str, bool]] | None
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of `/readyz`."""
    try:
        parked = await parked_overview(pool, schemas)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return 503, {"status": "unavailable", "reason": f"database: {type(exc).__name__}"}
    tasks = dict(running()) if running is not None else {}
    consumers = {name: dict(view) for name, view in parked.items()}
    for name, alive in tasks.items():
        consumers.setdefault(name, {"parked": 0, "events": []})["running"] = alive
    if not all(tasks.values()):
        return 503, {"status": "not_ready", "consumers": consumers}
    status = "degraded" if any(view["parked"] for view in parked.values()) else "ready"
    return 200, {"status": status, "consumers": consumers}
