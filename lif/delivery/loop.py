"""The one work loop of relays and followers: do the pending work, then wait for a wake-up or a tick.

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


async def wait_or_tick(wakeup: asyncio.Event, idle_interval: float) -> None:
    """Return when `wakeup` is set or after `idle_interval` seconds, whichever comes first; then clear it."""
    try:
        async with asyncio.timeout(idle_interval):
            await wakeup.wait()
    except TimeoutError:
        pass
    wakeup.clear()


async def work_forever(
    step: Callable[[], Awaitable[object]], wakeup: asyncio.Event, *, idle_interval: float, name: str
) -> None:
    """Run `step` forever; a failure is logged and retried with backoff (positions were not advanced)."""
    backoff = Backoff()
    while True:
        try:
            await step()
        except Exception as exc:
            delay = backoff.next()
            log.warning("%s failed (%s: %s); retrying in %.1fs", name, type(exc).__name__, exc, delay)
            log.debug("%s failure", name, exc_info=True)
            await asyncio.sleep(delay)
            continue
        backoff.reset()
        await wait_or_tick(wakeup, idle_interval)
