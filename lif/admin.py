"""Administrative tasks behind the CLI: tokens and projection rebuilds, in either runtime."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from lif.auth import TokenStore, check_role_scope, parse_role
from lif.composition import PROJECTED_TOPICS, make_projector, open_logs
from lif.db import create_pool
from lif.migrations import sets as migration_sets
from lif.runtime.embedded import admin_database
from lif.settings import Settings
from projections.rebuild import rebuild_from_kafka, rebuild_from_logs


async def create_token(settings: Settings, role: str, scope: str, name: str) -> str:
    checked = parse_role(role)
    check_role_scope(checked, scope)
    async with admin_database(settings, [migration_sets.ACCESS]) as url:
        pool = await create_pool(url)
        try:
            store = TokenStore(pool)
            token, _ = await store.create(checked, scope, name)
            return token
        finally:
            await pool.close()


async def list_tokens(settings: Settings) -> list[dict[str, Any]]:
    async with admin_database(settings, [migration_sets.ACCESS]) as url:
        pool = await create_pool(url)
        try:
            store = TokenStore(pool)
            return await store.list()
        finally:
            await pool.close()


async def revoke_token(settings: Settings, name: str) -> int:
    async with admin_database(settings, [migration_sets.ACCESS]) as url:
        pool = await create_pool(url)
        try:
            store = TokenStore(pool)
            return await store.revoke(name)
        finally:
            await pool.close()


async def rebuild_projections(settings: Settings, source: Literal["auto", "kafka", "logs"] = "auto") -> int:
    """Empty the read models and apply every event again, with a progress bar."""
    if source == "auto":
        source = "kafka" if settings.kafka_bootstrap else "logs"
    sets = [migration_sets.PROJECTIONS]
    if source == "logs":
        sets += [migration_sets.INTAKE, migration_sets.DECISIONING, migration_sets.ORCHESTRATION]
    async with admin_database(settings, sets) as url:
        projector = await make_projector(url)
        try:
            if source == "kafka":
                names = [settings.topic(topic) for topic in PROJECTED_TOPICS]
                return await rebuild_from_kafka(projector, settings.require_kafka(), names)
            logs = await asyncio.to_thread(open_logs, url)
            try:
                return await rebuild_from_logs(projector, logs)
            finally:
                for _, app in logs:
                    app.close()
        finally:
            await projector.pool.close()
