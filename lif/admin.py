"""Administrative tasks behind the CLI: tokens, projection rebuilds, status and parked events, in either runtime."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any, Literal
from uuid import UUID

import asyncpg

from lif.auth import TokenStore, check_role_scope, parse_role
from lif.composition import CONSUMER_SCHEMAS, PROJECTED_TOPICS, make_projector, open_consumer, open_logs
from lif.db import create_pool
from lif.delivery.parking import ParkedEvents, Parking, RetryResult
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
    own = settings.service_database_urls.get("projections")
    if source == "kafka" and own:
        settings = replace(settings, database_url=own)  # the read model's role is all a rebuild from Kafka needs
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


_CONSUMER_SETS = (
    migration_sets.DECISIONING,
    migration_sets.ORCHESTRATION,
    migration_sets.LEARNING,
    migration_sets.PROJECTIONS,
)
"""The migrations `lif status` and `lif parked` need: every consumer's positions and parked events."""
POSITION_TABLES = {
    "decisioning": '"lif_decisioning".decisioning_tracking',
    "orchestration": '"lif_orchestration".orchestration_tracking',
    "learning": '"lif_learning".learning_tracking',
    "learning_register": '"lif_learning_personal".register_positions',
    "projections": '"lif_projections".positions',
}
"""Where each consumer records its positions (eventsourcing tracking records, or the read model's table)."""
RELAY_TABLES = {
    "intake": '"lif_intake".relay_positions',
    "decisioning": '"lif_decisioning".relay_positions',
    "orchestration": '"lif_orchestration".relay_positions',
    "learning": '"lif_learning".relay_positions',
}


async def _exists(pool: asyncpg.Pool, table: str) -> bool:
    return await pool.fetchval("SELECT to_regclass($1)", table) is not None


async def _parked_stores(pool: asyncpg.Pool, only: str | None = None) -> list[ParkedEvents]:
    """The parked-event stores that exist (a consumer that never ran has none)."""
    if only is not None and only not in CONSUMER_SCHEMAS:
        raise ValueError(f"unknown consumer {only!r}; choose one of {', '.join(CONSUMER_SCHEMAS)}")
    stores = []
    for consumer, schema in CONSUMER_SCHEMAS.items():
        store = ParkedEvents(pool, schema, consumer)
        if (only is None or only == consumer) and await _exists(pool, store.table):
            stores.append(store)
    return stores


async def consumer_status(settings: Settings) -> dict[str, Any]:
    """Per consumer: the position it recorded per stream and its parked counts; per relay: its position."""
    async with admin_database(settings, _CONSUMER_SETS) as url:
        pool = await create_pool(url)
        try:
            stores = {store.consumer: store for store in await _parked_stores(pool)}
            consumers: dict[str, Any] = {}
            for consumer, table in POSITION_TABLES.items():
                positions: dict[str, int] = {}
                if await _exists(pool, table):
                    key = "application_name" if table.endswith("_tracking") else "position_key"
                    value = "notification_id" if table.endswith("_tracking") else "position"
                    rows = await pool.fetch(
                        f"SELECT {key} AS k, {value} AS v FROM {table} "
                        f"WHERE {key} LIKE 'log:%' OR {key} LIKE 'kafka:%' ORDER BY 1"
                    )
                    positions = {row["k"]: int(row["v"]) for row in rows}
                counts = await stores[consumer].counts() if consumer in stores else {"parked": 0}
                consumers[consumer] = {"positions": positions, **counts}
            relays: dict[str, Any] = {}
            for service, table in RELAY_TABLES.items():
                if await _exists(pool, table):
                    rows = await pool.fetch(f"SELECT relay, position FROM {table} ORDER BY relay")
                    relays[service] = {row["relay"]: int(row["position"]) for row in rows}
            return {"consumers": consumers, "relays": relays}
        finally:
            await pool.close()


async def list_parked(settings: Settings, consumer: str | None, status: str | None) -> list[dict[str, Any]]:
    async with admin_database(settings, _CONSUMER_SETS) as url:
        pool = await create_pool(url)
        try:
            found: list[dict[str, Any]] = []
            for store in await _parked_stores(pool, consumer):
                found.extend(item.summary() for item in await store.select(status))
            return found
        finally:
            await pool.close()


async def _holder(pool: asyncpg.Pool, event_id: UUID, consumer: str | None) -> ParkedEvents:
    """The one consumer's store that holds this parked event (else a ValueError that says what to do)."""
    holders = [store for store in await _parked_stores(pool, consumer) if await store.get(event_id) is not None]
    if not holders:
        raise ValueError(f"no parked event {event_id}" + (f" for {consumer}" if consumer else ""))
    if len(holders) > 1:
        names = ", ".join(store.consumer for store in holders)
        raise ValueError(f"event {event_id} is parked by {names}; say which with --consumer")
    return holders[0]


async def retry_parked(settings: Settings, event_id: UUID, by: str, consumer: str | None) -> RetryResult:
    """Run the consumer's handler again on a parked head and the events of its case parked behind it."""
    async with admin_database(settings, _CONSUMER_SETS) as url:
        pool = await create_pool(url)
        try:
            store = await _holder(pool, event_id, consumer)
            handler, close = await open_consumer(url, pool, store.consumer)
            try:
                return await Parking(store.consumer, handler, store).retry(event_id, by)
            except LookupError as exc:
                raise ValueError(str(exc)) from None
            finally:
                await asyncio.to_thread(close)
        finally:
            await pool.close()


async def drop_parked(settings: Settings, event_id: UUID, by: str, consumer: str | None) -> UUID | None:
    """Mark a parked event dropped by `by`; returns the event of its case that now leads, if any."""
    async with admin_database(settings, _CONSUMER_SETS) as url:
        pool = await create_pool(url)
        try:
            store = await _holder(pool, event_id, consumer)
            try:
                return await Parking(store.consumer, _NoHandler(), store).drop(event_id, by)
            except LookupError as exc:
                raise ValueError(str(exc)) from None
        finally:
            await pool.close()


class _NoHandler:
    """Dropping runs no handler."""

    async def handle(self, delivered: Any) -> None:
        raise AssertionError("a drop never applies an event")

    async def skip(self, position_key: str, position: int) -> None:
        return None



async def reporting_year(settings: Settings, lscb: str, start_month: int | None, by: str) -> dict[str, Any]:
    """A board's reporting-year setting, after setting its start month when `start_month` is given (a new
    version, as `PUT /v1/lscbs/{lscb}/reporting-year` records)."""
    from lif.boards import get_board
    from projections.reports.settings import current_setting, set_start_month

    if get_board(lscb) is None:
        raise ValueError(f"unknown board code {lscb!r}")
    if start_month is not None and not 1 <= start_month <= 12:
        raise ValueError(f"--start-month must be 1 to 12, not {start_month}")
    own = settings.service_database_urls.get("projections")
    if own:
        settings = replace(settings, database_url=own)  # the setting lives in the read model's schema
    async with admin_database(settings, [migration_sets.PROJECTIONS]) as url:
        pool = await create_pool(url)
        try:
            if start_month is not None:
                return (await set_start_month(pool, lscb, start_month, by)).as_json()
            return (await current_setting(pool, lscb)).as_json()
        finally:
            await pool.close()
