"""The service's clock work: keep the obligations table current and run the timer tick.

Two loops run in the service's process: the index follows the service's own log (woken at once by each
recording), and the tick runs every `tick_interval` seconds on the injected clock. `lif notifications
tick` runs the same `tick` once, from another process: the obligations table's position lock and the case
aggregates' versions keep the two from recording anything twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date

from events.envelope import EventEnvelope
from lif.clock import Today
from lif.delivery.loop import work_forever
from services.notifications.application import NotificationsApplication
from services.notifications.index import ObligationIndex

log = logging.getLogger(__name__)

TICK_INTERVAL = 60.0
"""Seconds between two ticks of a running service (`LIF_NOTIFICATIONS_TICK_SECONDS`)."""


class Ticker:
    def __init__(self, app: NotificationsApplication, index: ObligationIndex, today: Today) -> None:
        self.app = app
        self.index = index
        self.today = today
        app.on_saved.append(self._wake_index)
        self._loop: asyncio.AbstractEventLoop | None = None

    def _wake_index(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.index.wakeup.set)

    async def tick(self, today: date | None = None) -> list[EventEnvelope]:
        """One tick: bring the table up to date, fire what is due on `today`, and fold that in."""
        day = today or self.today()
        await self.index.catch_up()
        due = await self.index.due_cases(day)
        fired = await asyncio.to_thread(self.app.tick_cases, due, day) if due else []
        if fired:
            await self.index.catch_up()
            log.info("notifications tick %s: %d timer event(s) recorded", day.isoformat(), len(fired))
        return fired

    def tasks(self, tick_interval: float = TICK_INTERVAL) -> list[asyncio.Task[None]]:
        """The two loops, as tasks of the running loop (the caller stops them)."""
        self._loop = asyncio.get_running_loop()
        return [
            asyncio.create_task(
                work_forever(
                    self.index.catch_up,
                    self.index.wakeup,
                    idle_interval=0.05,
                    name="obligations index",
                    notified=self.index.notified,
                ),
                name="notifications index",
            ),
            asyncio.create_task(self._tick_forever(tick_interval), name="notifications tick"),
        ]

    async def _tick_forever(self, interval: float) -> None:
        while True:
            try:
                await self.tick()
            except Exception as exc:  # a failed tick changes nothing; the next one tries again
                log.warning("notifications tick failed (%s: %s)", type(exc).__name__, exc)
            await asyncio.sleep(interval)
