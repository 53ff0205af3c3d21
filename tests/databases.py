"""A fresh database per test module on the session's PostgreSQL server, so modules never share state."""

from __future__ import annotations

import uuid
from urllib.parse import urlparse, urlunparse

import asyncpg

from lif.db import create_pool


async def fresh_database(server_url: str, label: str) -> str:
    """Create an empty database on the same server; returns its URL."""
    name = f"t_{label}_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(server_url)
    try:
        await pool.execute(f'CREATE DATABASE "{name}"')
    finally:
        await pool.close()
    parsed = urlparse(server_url)
    return urlunparse(parsed._replace(path=f"/{name}"))


async def fetch(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    pool = await create_pool(url)
    try:
        return await pool.fetch(query, *args)
    finally:
        await pool.close()
