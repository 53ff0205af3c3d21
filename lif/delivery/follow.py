"""In-process delivery for the embedded runtime: pull another service's log, with tracking.

No callbacks and no fire-and-forget: a follower asks its consumer where it got to, reads the upstream
log from there and hands what is waiting (up to `batch_size` events) to the consumer's `Parking`, which
applies it in one transaction where the consumer can; the consumer records the position with its effects
(or, for an event it can never process, with the park). A crash anywhere resumes from the last recorded
position.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from eventsourcing.application import Application

from lif.delivery.log import read_log_page
from lif.delivery.loop import work_forever
from lif.delivery.parking import Parking, Pending


class LogFollower:
    def __init__(
        self,
        upstream: Application,
        name: str,
        parking: Parking,
        position: Callable[[str], Awaitable[int]],
        *,
        idle_interval: float = 0.05,
        batch_size: int = 200,
    ) -> None:
        self.upstream = upstream
        self.position_key = f"log:{name}"
        self.parking = parking
        self.position = position
        self.idle_interval = idle_interval
        self.batch_size = batch_size
        self.wakeup = asyncio.Event()
        self.notified: Callable[[], bool] | None = None  # set when every writer of `upstream` wakes it

    async def catch_up(self) -> int:
        """Deliver everything not yet processed; returns how many events were handed over."""
        after = await self.position(self.position_key)
        delivered = 0
        while True:
            batch, last = await asyncio.to_thread(read_log_page, self.upstream, after, self.batch_size)
            if batch:
                await self.parking.deliver_many(
                    [Pending(self.position_key, item.notification_id, item.envelope, item.parsed()) for item in batch]
                )
                delivered += len(batch)
            if last <= after:
                return delivered
            after = last  # past internal notifications too (not recorded: a restart reads them again)

    async def run(self) -> None:
        name = f"{self.parking.name} {self.position_key}"
        await work_forever(
            self.catch_up, self.wakeup, idle_interval=self.idle_interval, name=name, notified=self.notified
        )
