"""The one work loop of relays and followers: do the pending work, then wait for a wake-up or a tick.

The tick lengthens while there is nothing to do (up to `IDLE_CEILING`), so an idle process costs nothing.
A loop told of every commit to what it reads (`notified`: in-process writers plus PostgreSQL's NOTIFY,
`lif.delivery.wakeups`) never polls fast: it sleeps the ceiling between looks unless woken.

The wait uses `asyncio.timeout`, never `asyncio.wait_for`: on Python 3.11 `wait_for` returns the inner
result when a cancel races a wake-up that completes at the same moment, so the cancel is lost and a
stopped loop runs on for ever (seen as a shutdown hanging while a follower kept polling).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from lif.delivery.failures import Backoff

log = logging.getLogger(__name__)


IDLE_CEILING = 2.0
"""The longest an idle loop sleeps between looks (seconds): in-process wake-ups still end a sleep at once."""


async def wait_or_tick(wakeup: asyncio.Event, idle_interval: float) -> bool:
    """Wait until `wakeup` is set or `idle_interval` seconds pass, then clear it; True when it was woken."""
    try:
        async with asyncio.timeout(idle_interval):
            await wakeup.wait()
    except TimeoutError:
        pass
    woken = wakeup.is_set()
    wakeup.clear()
    return woken


async def work_forever(
    step: Callable[[], Awaitable[object]],
    wakeup: asyncio.Event,
    *,
    idle_interval: float,
    name: str,
    idle_ceiling: float = IDLE_CEILING,
    notified: Callable[[], bool] | None = None,
) -> None:
    """Run `step` forever; a failure is logged and retried with backoff (positions were not advanced).

    While `step` finds nothing to do (returns a falsy count) the pause between looks doubles from
    `idle_interval` up to `idle_ceiling`, so an idle process is idle; work or a wake-up starts over at
    `idle_interval`. Writers in the same process set `wakeup`, so they never wait for a tick. While
    `notified()` is true every writer wakes the loop, so the tick stays at `idle_ceiling`: a look that
    finds nothing costs a query per reader, and fast ticks after each piece of work were most of an
    otherwise quiet process's CPU.
    """
    backoff = Backoff()
    tick = idle_interval
    while True:
        try:
            done = await step()
        except Exception as exc:
            delay = backoff.next()
            log.warning("%s failed (%s: %s); retrying in %.1fs", name, type(exc).__name__, exc, delay)
            log.debug("%s failure", name, exc_info=True)
            await asyncio.sleep(delay)
            continue
        backoff.reset()
        if notified is not None and notified():
            tick = idle_ceiling
        else:
            tick = idle_interval if done else min(idle_ceiling, max(tick, idle_interval) * 2)
        if await wait_or_tick(wakeup, tick):
            tick = idle_interval
