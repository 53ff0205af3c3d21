"""One way to reach PostgreSQL: a `DATABASE_URL`, turned into asyncpg pools or eventsourcing settings.

The URL may use a Unix socket folder (`postgresql://postgres:@/postgres?host=/path`), as the embedded
runtime does, or TCP as in production.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import asyncpg

from lif import recorders

log = logging.getLogger(__name__)


def eventsourcing_env(url: str, schema: str) -> dict[str, str]:
    """eventsourcing settings that put an application's tables in its own `schema`."""
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    host = query.get("host", [parsed.hostname or "127.0.0.1"])[0]
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parsed.path.lstrip("/")) or "postgres",
        "POSTGRES_HOST": host,
        "POSTGRES_PORT": str(parsed.port or query.get("port", ["5432"])[0]),
        "POSTGRES_USER": unquote(parsed.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parsed.password or ""),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "4",
        "POSTGRES_CONNECT_TIMEOUT": "10",
        # Not POSTGRES_ENABLE_DB_FUNCTIONS: in eventsourcing 9.5 its insert path drops tracking records,
        # which would break exactly-once processing (seen in tests/e2e).
        # The tables come from the migrations (`lif migrate`), never from an application's start-up:
        # processes started together on an empty database raced to create them.
        "CREATE_TABLE": "n",
        # The migrations' event-store tables are made for these two (the library's defaults, pinned here).
        "ORIGINATOR_ID_TYPE": "uuid",
        "SINGLE_ROW_TRACKING": "t",
        # One recording may hold the positions of several streams (a batch from several partitions), and
        # a command's rows outside the event store (lif.recorders).
        "PROCESS_RECORDER_TOPIC": recorders.PROCESS_RECORDER_TOPIC,
        "APPLICATION_RECORDER_TOPIC": recorders.APPLICATION_RECORDER_TOPIC,
    }
    return env


def _connect_arguments(url: str) -> dict[str, Any]:
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    return {
        "user": unquote(parsed.username or "postgres"),
        "password": unquote(parsed.password or "") or None,
        "database": unquote(parsed.path.lstrip("/")) or "postgres",
        "host": query.get("host", [parsed.hostname or "127.0.0.1"])[0],
        "port": parsed.port or int(query.get("port", ["5432"])[0]),
    }


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to undo when a connection comes back: pooled work never changes session state."""


async def create_pool(url: str, **kwargs: Any) -> asyncpg.Pool:
    """An asyncpg pool for `url` (Unix-socket URLs included).

    asyncpg's default release runs `RESET ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); ...`, one round
    trip per release (a fifth of the projector's statements under load). Pooled work here takes only
    transaction-scoped locks and never SETs, LISTENs or holds cursors, so `_keep_session` skips that; asyncpg
    still rolls back a transaction left open. Work that needs a session of its own uses `connect`.
    """
    kwargs.setdefault("min_size", 1)
    kwargs.setdefault("max_size", 5)
    kwargs.setdefault("reset", _keep_session)
    pool = await asyncpg.create_pool(**_connect_arguments(url), **kwargs)
    assert pool is not None
    return pool


async def connect(url: str, *, timeout: float = 10.0) -> asyncpg.Connection:
    """One asyncpg connection for `url`, for work that needs a session of its own (advisory locks)."""
    return await asyncpg.connect(**_connect_arguments(url), timeout=timeout)


async def close_pool(pool: asyncpg.Pool, timeout: float = 10.0) -> None:
    """Close gracefully; if a connection is still held (a task cancelled mid-release), terminate instead.

    `Pool.close` waits for every connection to come back, so one never released would hang a shutdown.
    """
    try:
        async with asyncio.timeout(timeout):
            await pool.close()
    except TimeoutError:
        log.warning("database pool did not close within %ss; terminating its connections", timeout)
        pool.terminate()
