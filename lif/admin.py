"""Administrative tasks behind the CLI: tokens, projection rebuilds, status and parked events, in either runtime.

Each task imports the services it works with itself (`lif.composition` is every service, a second and
more of imports): a token command then starts, and refuses a mistyped option, in a fraction of that.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from datetime import date
from typing import Any, Literal
from uuid import UUID

import asyncpg

from lif.auth import TokenStore, check_role_scope, parse_role
from lif.auth.sign_in_links import create_sign_in_link
from lif.boards import get_board
from lif.clock import today_london
from lif.db import connect, create_pool
from lif.delivery.parking import ParkedEvents, Parking, RetryResult
from lif.migrations import sets as migration_sets
from lif.runtime.database import admin_database
from lif.settings import Settings
from projections.schema import SCHEMA as READ_MODEL_SCHEMA


async def create_token(
    settings: Settings, role: str, scope: str, name: str, *, web: bool = False
) -> tuple[str, str | None]:
    """A new token, and with `web` the secret of a one-time sign-in link for it (lif.auth.sign_in_links)."""
    checked = parse_role(role)
    check_role_scope(checked, scope)
    async with admin_database(settings, [migration_sets.ACCESS]) as url:
        pool = await create_pool(url)
        try:
            store = TokenStore(pool)
            token, _ = await store.create(checked, scope, name)
            link = await create_sign_in_link(pool, token, name) if web else None
            return token, link
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


async def rebuild_projections(
    settings: Settings, source: Literal["auto", "kafka", "logs"] = "auto", *, restart: bool = False
) -> int:
    """Rebuild the read model beside the live one and swap it in, with a progress bar; resumable."""
    from lif.composition import PROJECTED_TOPICS, open_logs
    from projections.fold_processes import FoldProcesses
    from projections.projector import CaseProjector
    from projections.rebuild import rebuild_from_kafka, rebuild_from_logs

    if source == "auto":
        source = "kafka" if settings.kafka_bootstrap else "logs"
    sets = [migration_sets.PROJECTIONS]
    own = settings.service_database_urls.get("projections")
    if source == "kafka" and own:
        settings = replace(settings, database_url=own)  # the read model's role is all a rebuild from Kafka needs
    if source == "logs":
        sets += [migration_sets.INTAKE, migration_sets.DECISIONING, migration_sets.ORCHESTRATION]
    async with admin_database(settings, sets) as url:
        projector = CaseProjector(await read_model_pool(own or url, max_size=3))
        fold_in = FoldProcesses(own or url, await read_model_owner(own or url), os.cpu_count() or 1)
        try:
            if source == "kafka":
                names = [settings.topic(topic) for topic in PROJECTED_TOPICS]
                return await rebuild_from_kafka(
                    projector, settings.require_kafka(), names, restart=restart, fold_in=fold_in
                )
            logs = await asyncio.to_thread(open_logs, url)
            try:
                return await rebuild_from_logs(projector, logs, restart=restart, fold_in=fold_in)
            finally:
                for _, app in logs:
                    app.close()
        finally:
            await projector.pool.close()


async def read_model_owner(url: str) -> str | None:
    """The role to act as on `url` to be the read model's owner (regrole text), or None when the URL's user is it.

    An administrator's URL (a rebuild from the logs reads every service's log) becomes the owner with `SET ROLE`,
    so the schema a rebuild makes is the projections role's.
    """
    conn = await connect(url)
    try:
        owner, user = await conn.fetchrow(
            "SELECT nspowner::regrole::text, current_user::text FROM pg_namespace WHERE nspname = $1", READ_MODEL_SCHEMA
        ) or (None, None)
    finally:
        await conn.close()
    return None if owner is None or owner == user else str(owner)


async def read_model_pool(url: str, **kwargs: Any) -> asyncpg.Pool:
    """A pool that acts as the read model's owner (`read_model_owner`)."""
    owner = await read_model_owner(url)

    async def act_as_owner(connection: asyncpg.Connection) -> None:
        await connection.execute(f"SET ROLE {owner}")  # regrole text is already quoted where it must be

    if owner is None:
        return await create_pool(url, **kwargs)
    return await create_pool(url, init=act_as_owner, **kwargs)


_CONSUMER_SETS = (
    migration_sets.DECISIONING,
    migration_sets.ORCHESTRATION,
    migration_sets.NOTIFICATIONS,
    migration_sets.LEARNING,
    migration_sets.PROJECTIONS,
)
"""The migrations `lif status` and `lif parked` need: every consumer's positions and parked events."""
POSITION_TABLES = {
    "decisioning": '"lif_decisioning".decisioning_tracking',
    "orchestration": '"lif_orchestration".orchestration_tracking',
    "notifications": '"lif_notifications".notifications_tracking',
    "notifications_outbox": '"lif_notifications_outbox".notifications_outbox_tracking',
    "learning": '"lif_learning".learning_tracking',
    "learning_register": '"lif_learning_personal".register_positions',
    "projections": '"lif_projections".positions',
}
"""Where each consumer records its positions (eventsourcing tracking records, or the read model's table)."""
RELAY_TABLES = {
    "intake": '"lif_intake".relay_positions',
    "decisioning": '"lif_decisioning".relay_positions',
    "orchestration": '"lif_orchestration".relay_positions',
    "notifications": '"lif_notifications".relay_positions',
    "notifications_outbox": '"lif_notifications_outbox".relay_positions',
    "learning": '"lif_learning".relay_positions',
}


async def _exists(pool: asyncpg.Pool, table: str) -> bool:
    return await pool.fetchval("SELECT to_regclass($1)", table) is not None


async def _parked_stores(pool: asyncpg.Pool, only: str | None = None) -> list[ParkedEvents]:
    """The parked-event stores that exist (a consumer that never ran has none)."""
    from lif.composition import CONSUMER_SCHEMAS

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
    from lif.composition import open_consumer

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


async def notifications_tick(settings: Settings, on: date | None = None) -> list[dict[str, Any]]:
    """One timer tick of the notifications service (as its running loop does), on `on` or today."""
    from lif.composition import make_notifications, make_ticker

    async with admin_database(settings, [migration_sets.NOTIFICATIONS]) as url:
        url = settings.service_database_urls.get("notifications", url)
        notifications = await asyncio.to_thread(make_notifications, url)
        pool = await create_pool(url, max_size=2)
        try:
            fired = await make_ticker(pool, notifications).tick(on or today_london())
            return [event.model_dump(mode="json") for event in fired]
        finally:
            await pool.close()
            await asyncio.to_thread(notifications.close)


async def create_feed(settings: Settings, lscb: str | None, person: str | None, created_by: str) -> tuple[str, str]:
    """A calendar feed for a board or for the person a token names: (feed id, secret path), shown once."""
    from services.notifications.feeds import FeedStore

    if (lscb is None) == (person is None):
        raise ValueError("give exactly one of --lscb and --person")
    if lscb is not None and get_board(lscb) is None:
        raise ValueError(f"unknown board code {lscb!r}")
    sets = [migration_sets.ACCESS, migration_sets.NOTIFICATIONS]
    async with admin_database(settings, sets) as url:
        pool = await create_pool(url)
        try:
            if person is not None and not any(t["name"] == person for t in await TokenStore(pool).list()):
                raise ValueError(f"no token named {person!r}: a person's feed shows what their token may see")
            kind: Literal["board", "person"] = "board" if lscb is not None else "person"
            feed, secret = await FeedStore(pool).create(kind, lscb or person or "", created_by)
            return str(feed.feed_id), secret
        finally:
            await pool.close()


async def revoke_feed(settings: Settings, feed_id: UUID) -> bool:
    from services.notifications.feeds import FeedStore

    async with admin_database(settings, [migration_sets.NOTIFICATIONS]) as url:
        pool = await create_pool(url)
        try:
            return await FeedStore(pool).revoke(feed_id)
        finally:
            await pool.close()


async def list_feeds(settings: Settings) -> list[dict[str, Any]]:
    from services.notifications.feeds import FeedStore

    async with admin_database(settings, [migration_sets.NOTIFICATIONS]) as url:
        pool = await create_pool(url)
        try:
            return await FeedStore(pool).list()
        finally:
            await pool.close()


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
