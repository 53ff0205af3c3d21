"""A fresh database per test module on the session's PostgreSQL server, so modules never share state.

A fresh database is migrated (every service's migrations, as `lif migrate` applies them) unless a test asks
for an empty one: no part of LIF makes tables at start-up, so this is the one place tests get their schemas.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlparse, urlunparse

import asyncpg

from lif.db import create_pool
from lif.migrations import ALL, migrate


async def fresh_database(server_url: str, label: str, *, migrated: bool = True) -> str:
    """Create a database on the same server, migrated unless `migrated=False`; returns its URL."""
    name = f"t_{label}_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(server_url)
    try:
        await pool.execute(f'CREATE DATABASE "{name}"')
    finally:
        await pool.close()
    parsed = urlparse(server_url)
    url = urlunparse(parsed._replace(path=f"/{name}"))
    if migrated:
        await migrate(url, ALL)
    return url


async def fetch(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    pool = await create_pool(url)
    try:
        return await pool.fetch(query, *args)
    finally:
        await pool.close()
