"""The dispatcher: sends what the outbox recorded, one worker per channel, and records each outcome.

A worker follows the outbox's own log from its position (a tracking record, `dispatch:<channel>`), and
for each queued message of its channel that is not done: resolves the recipient in the directory, renders,
sends, and records `notification_delivered` (with its position, in one transaction) or
`notification_failed` (each attempt, with the reason; the last one with its position). Failures that may
pass are retried with exponential backoff up to `RetryPolicy.attempts`; a permanent one (an address
refused, a webhook's 4xx, an erased recipient) stops at once.

Only queued events at positions past the worker's own are ever sent: a projection rebuild, a replay of
the timer events or a restart sends nothing already recorded as delivered. The one window: the process
dies after the channel accepted a message and before LIF recorded it. The message is then sent again on
restart with the same idempotency key (the email's Message-ID, the webhook's `webhook-id`): at least
once, never lost, and a receiver can drop the repeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from lif.clock import Today, today_london
from lif.delivery.failures import describe
from lif.delivery.log import read_log_page
from lif.delivery.loop import work_forever
from services.notifications.outbound import Channel, ChannelName, DeliveryOutcome, OutboundMessage, Recipient
from services.notifications.outbox.application import OutboxApplication
from services.notifications.outbox.domain import OutboundNotification
from services.notifications.outbox.messages import delivered, failed

log = logging.getLogger(__name__)
QUEUED = "notifications.notification_queued"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    first_delay: float = 2.0
    ceiling: float = 300.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt `attempt` (1-based): first_delay, doubled, up to ceiling."""
        return float(min(self.ceiling, self.first_delay * (2 ** (attempt - 1))))


class ChannelLock(Protocol):
    """Held by one dispatcher of a channel at a time (a PostgreSQL advisory lock), so two processes never
    send the same message at once."""

    async def acquire(self, key: str) -> bool: ...


class Resolver(Protocol):
    def resolve(self, recipient_id: str, lscb: str, channel: ChannelName) -> Recipient | None: ...


class Unsendable(Exception):
    """The message can never be built (its document erased, say): a permanent failure with this reason."""


Compose = Callable[[OutboundNotification], Awaitable[OutboundMessage]]
"""Build the message a channel sends from a queued message (templates' context, attachments)."""


def position_key(channel: ChannelName) -> str:
    return f"dispatch:{channel}"


class DispatchWorker:
    def __init__(
        self,
        outbox: OutboxApplication,
        channel: Channel,
        directory: Resolver,
        compose: Compose,
        *,
        policy: RetryPolicy = RetryPolicy(),
        today: Today = today_london,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        batch_size: int = 100,
        idle_interval: float = 0.5,
        lock: ChannelLock | None = None,
    ) -> None:
        self.outbox = outbox
        self.channel = channel
        self.directory = directory
        self.compose = compose
        self.policy = policy
        self.today = today
        self.sleep = sleep
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        self.key = position_key(channel.name)
        self.wakeup = asyncio.Event()
        self.lock = lock
        self.holds_lock = lock is None

    async def _may_dispatch(self) -> bool:
        if not self.holds_lock and self.lock is not None:
            self.holds_lock = await self.lock.acquire(self.key)
            if not self.holds_lock:
                log.info("%s: another dispatcher holds this channel; waiting", self.key)
        return self.holds_lock

    async def catch_up(self) -> int:
        """Dispatch everything queued for this channel past the worker's position; returns how many were sent
        (0 while another dispatcher holds the channel)."""
        if not await self._may_dispatch():
            return 0
        after = await asyncio.to_thread(self.outbox.position, self.key)
        sent = 0
        while True:
            page, last = await asyncio.to_thread(read_log_page, self.outbox, after, self.batch_size)
            recorded = after
            for item in page:
                envelope = item.envelope
                if envelope["event_type"] != QUEUED or envelope["payload"]["channel"] != self.channel.name:
                    continue
                sent += await self.dispatch(UUID(envelope["payload"]["message_id"]), item.notification_id)
                recorded = item.notification_id
            if last > recorded:  # nothing of ours at the end of the page: move the position past it
                await asyncio.to_thread(self.outbox.skip, self.key, last)
            if last <= after:
                return sent
            after = last

    async def dispatch(self, message_id: UUID, position: int) -> int:
        """Attempt one message until delivered or given up; 1 when it was delivered now."""
        message = await asyncio.to_thread(self.outbox.message, message_id)
        if message is None:
            return 0
        if message.done:
            await asyncio.to_thread(self.outbox.skip, self.key, position)
            return 0
        p = message.payload
        lscb = message.queued["lscb"]
        recipient = await asyncio.to_thread(self.directory.resolve, p["recipient_id"], lscb, p["channel"])
        if recipient is None:
            reason = "the recipient is not in the directory (erased or removed)"
            await self._record_failure(message, message.attempts + 1, reason, True, True, position)
            return 0
        attempt = message.attempts
        while attempt < self.policy.attempts:
            attempt += 1
            outcome = await self._attempt(message, recipient)
            if outcome.delivered:
                message.deliver(delivered(message.queued, attempt, self.today(), dict(outcome.detail)))
                await asyncio.to_thread(self.outbox.record_outcome, message, (self.key, position))
                return 1
            final = outcome.permanent or attempt >= self.policy.attempts
            await self._record_failure(
                message, attempt, outcome.reason, outcome.permanent, final, position if final else None
            )
            if final:
                return 0
            await self.sleep(self.policy.delay(attempt))
        await self._record_failure(message, attempt + 1, "no attempts left", False, True, position)
        return 0

    async def _attempt(self, message: OutboundNotification, recipient: Recipient) -> DeliveryOutcome:
        """One attempt; what cannot be built is permanent, anything else that raised may pass."""
        try:
            outbound = await self.compose(message)
        except Unsendable as exc:
            return DeliveryOutcome(False, permanent=True, reason=str(exc))
        except Exception as exc:
            return DeliveryOutcome(False, permanent=False, reason=describe(exc))
        try:
            return await self.channel.send(outbound, recipient)
        except Exception as exc:
            return DeliveryOutcome(False, permanent=False, reason=describe(exc))

    async def _record_failure(
        self,
        message: OutboundNotification,
        attempt: int,
        reason: str,
        permanent: bool,
        final: bool,
        position: int | None,
    ) -> None:
        message.fail(failed(message.queued, attempt, reason, permanent=permanent, final=final))
        await asyncio.to_thread(self.outbox.record_outcome, message, None if position is None else (self.key, position))
        log.warning("%s: message %s attempt %s failed (final: %s): %s", self.key, message.id, attempt, final, reason)

    async def run(self) -> None:
        await work_forever(self.catch_up, self.wakeup, idle_interval=self.idle_interval, name=self.key)


def build_workers(
    outbox: OutboxApplication,
    channels: Mapping[ChannelName, Channel],
    directory: Resolver,
    compose: Compose,
    **options: Any,
) -> list[DispatchWorker]:
    """One worker per channel; each is woken when the outbox saves."""
    workers = [DispatchWorker(outbox, channel, directory, compose, **options) for channel in channels.values()]
    return workers
