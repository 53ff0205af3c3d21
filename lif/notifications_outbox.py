"""Building the notifications outbox's parts from settings: its application, directory, inbox, channels and
dispatch workers, its HTTP routers, and what the embedded runtime connects to it.

The outbox follows the notifications timer events (the embedded runtime: the timers application's log;
the distributed one: topic `lif.notifications.v1`) with a `Parking` of consumer `notifications_outbox`,
and decisioning follows the outbox's log (or the same topic) to record a Panel notice's delivery.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter

from lif.clock import Today, today_london
from lif.composition import make_parking
from lif.db import close_pool, create_pool, eventsourcing_env
from lif.delivery.follow import LogFollower
from lif.delivery.parking import ParkedEvents, Parking
from lif.delivery.tracking import TrackingConsumer
from lif.runtime.stopping import STOP_TIMEOUT, stop_tasks
from lif.settings import OutboundSettings, Settings
from services.decisioning.board_actions import BoardActions
from services.decisioning.panel_notice_reads import read_notice
from services.notifications.channels import build_channels
from services.notifications.directory import SCHEMA as DIRECTORY_SCHEMA
from services.notifications.directory import RecipientDirectory
from services.notifications.inbox import Inbox
from services.notifications.outbound import Channel, ChannelName
from services.notifications.outbox.application import OutboxApplication
from services.notifications.outbox.compose import Composer
from services.notifications.outbox.dispatch import DispatchWorker, RetryPolicy, build_workers
from services.notifications.outbox_api import build_router
from services.notifications.panel_notices import DecisioningNotices, NoticeSource

OUTBOX_SCHEMA = "lif_notifications_outbox"
OUTBOX_CONSUMER = "notifications_outbox"
__all__ = ["DIRECTORY_SCHEMA", "OUTBOX_CONSUMER", "OUTBOX_SCHEMA", "OutboxService", "build_outbox_service"]


def make_directory(database_url: str) -> RecipientDirectory:
    return RecipientDirectory(database_url, DIRECTORY_SCHEMA)


def make_outbox(database_url: str, directory: RecipientDirectory) -> OutboxApplication:
    return OutboxApplication(eventsourcing_env(database_url, OUTBOX_SCHEMA), targets=directory)


def notices_in_process(actions: BoardActions) -> NoticeSource:
    """Decisioning's prepared notices for the outbox in the same process (the embedded runtime, tests)."""

    async def notice(case_id: UUID, notice_id: UUID) -> dict[str, Any] | None:
        return await asyncio.to_thread(read_notice, actions, case_id, notice_id)

    return notice


def notices_over_http(settings: Settings) -> NoticeSource | None:
    """Decisioning's internal route with this service's credential, when LIF_DECISIONING_URL is set."""
    if not settings.outbound.decisioning_url:
        return None
    return DecisioningNotices(settings.outbound.decisioning_url, settings.require_service_token())


class AdvisoryLocks:
    """Session advisory locks, one per dispatch channel, held on connections of their own until closed
    (a process that dies loses them with its connections)."""

    NAMESPACE = 7300

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.held: list[asyncpg.pool.PoolConnectionProxy] = []

    async def acquire(self, key: str) -> bool:
        conn = await self.pool.acquire()
        if await conn.fetchval("SELECT pg_try_advisory_lock($1, hashtext($2))", self.NAMESPACE, key):
            self.held.append(conn)
            return True
        await self.pool.release(conn)
        return False

    async def release_all(self) -> None:
        while self.held:
            conn = self.held.pop()
            try:
                await conn.execute("SELECT pg_advisory_unlock_all()")
            finally:
                await self.pool.release(conn)


@dataclass
class OutboxService:
    outbox: OutboxApplication
    directory: RecipientDirectory
    inbox: Inbox
    pool: asyncpg.Pool
    channels: dict[ChannelName, Channel]
    workers: list[DispatchWorker]
    notices: NoticeSource | None
    locks: AdvisoryLocks | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def routers(self) -> list[APIRouter]:
        return [build_router(self.outbox, self.directory, self.inbox, self.notices)]

    def parking(self, on_fresh: list[Callable[[], object]] | None = None) -> Parking:
        """The outbox as a consumer of the timer events (its parked events in its own schema)."""
        consumer = TrackingConsumer(self.outbox, [self.wake, *(on_fresh or [])])
        return Parking(OUTBOX_CONSUMER, consumer, ParkedEvents(self.pool, OUTBOX_SCHEMA, OUTBOX_CONSUMER))

    def wake(self) -> None:
        for worker in self.workers:
            worker.wakeup.set()

    async def start(self) -> None:
        """Run the dispatch workers; the outbox's saves wake them."""
        loop = asyncio.get_running_loop()

        def wake_from_any_thread() -> None:
            loop.call_soon_threadsafe(self.wake)

        self.outbox.on_saved.append(wake_from_any_thread)
        for worker in self.workers:
            self.tasks.append(asyncio.create_task(worker.run(), name=f"{OUTBOX_CONSUMER} {worker.key}"))

    async def dispatch_pending(self) -> int:
        """Dispatch everything queued once (for tests and `lif outbox dispatch --once`)."""
        return sum([await worker.catch_up() for worker in self.workers])

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        await stop_tasks(self.tasks, timeout)
        self.tasks.clear()
        for channel in self.channels.values():
            close = getattr(channel, "close", None)
            if close is not None:
                await close()
        close_notices = getattr(self.notices, "close", None)
        if close_notices is not None:
            await close_notices()
        await asyncio.to_thread(self.outbox.close)
        await asyncio.to_thread(self.directory.close)
        if self.locks is not None:
            await self.locks.release_all()
        await close_pool(self.pool)


async def build_outbox_service(
    database_url: str,
    settings: OutboundSettings,
    notices: NoticeSource | None,
    *,
    policy: RetryPolicy | None = None,
    today: Today = today_london,
    channels: dict[ChannelName, Channel] | None = None,
) -> OutboxService:
    directory = await asyncio.to_thread(make_directory, database_url)
    outbox = await asyncio.to_thread(make_outbox, database_url, directory)
    pool = await create_pool(database_url, max_size=8)
    inbox = Inbox(pool, OUTBOX_SCHEMA)
    chosen = channels if channels is not None else build_channels(settings, inbox)
    composer = Composer(notices, settings.public_url)
    locks = AdvisoryLocks(pool)
    workers = build_workers(
        outbox, chosen, directory, composer, policy=policy or RetryPolicy(), today=today, lock=locks
    )
    return OutboxService(outbox, directory, inbox, pool, chosen, workers, notices, locks)


async def attach_to_embedded(system: Any, service: OutboxService) -> None:
    """Connect decisioning to the outbox of an embedded system before it starts: decisioning follows the
    outbox's log (a delivered Panel notice is recorded as sent).

    The embedded runtime (`build_embedded`) serves the outbox's routes, follows the notifications log with
    `service.parking()` and runs the dispatch workers with the system.
    """
    decisioning = system.decisioning
    downstream = [f.wakeup.set for f in system.followers if f.upstream is decisioning]  # projector, orchestrator
    decisions = await make_parking(system.projector.pool, "decisioning", TrackingConsumer(decisioning, downstream))

    async def position(key: str) -> int:
        return await asyncio.to_thread(decisioning.position, key)

    follower = LogFollower(service.outbox, OUTBOX_CONSUMER, decisions, position)
    system.followers.append(follower)
    loop_holder: list[asyncio.AbstractEventLoop] = []

    def wake() -> None:
        if loop_holder:
            loop_holder[0].call_soon_threadsafe(follower.wakeup.set)

    service.outbox.on_saved.append(wake)
    loop_holder.append(asyncio.get_running_loop())


async def start_outbox_over_kafka(running: Any, settings: Settings, service: OutboxService) -> None:
    """The distributed runtime's outbox parts in `running` (lif.runtime.distributed.Running): the outbox's
    log relayed to `lif.notifications.v1`, the outbox consuming that topic (the timers' events; its own are
    ignored) as group `notifications-outbox`, and the dispatch workers."""
    from events import topics
    from lif.delivery.kafka import subscribe_events
    from lif.delivery.relay import LogRelay, RelayPositions, create_producer
    from lif.runtime.distributed import new_broker

    topic = settings.topic(topics.NOTIFICATIONS)
    positions = RelayPositions(service.pool, OUTBOX_SCHEMA)
    producer = create_producer(settings.require_kafka())
    await producer.start()
    running.closers.append(producer.stop)
    relay = LogRelay(service.outbox, topic, producer, positions, name=OUTBOX_CONSUMER)
    loop = asyncio.get_running_loop()
    service.outbox.on_saved.append(lambda: loop.call_soon_threadsafe(relay.wakeup.set))
    running.tasks.append(asyncio.create_task(relay.run(), name=f"relay {topic}"))
    broker = new_broker(settings.require_kafka())
    subscribe_events(
        broker,
        [topic],
        group_id=settings.topic("notifications-outbox"),
        parking=service.parking([relay.wakeup.set]),
        title="notifications outbox",
    )
    await broker.start()
    running.closers.append(broker.stop)
    await service.start()
    running.tasks.extend(service.tasks)
