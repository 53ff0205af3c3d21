"""The one work loop of relays and followers: do the pending work, then wait for a wake-up or a tick."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def work_forever(
    step: Callable[[], Awaitable[object]], wakeup: asyncio.Event, *, idle_interval: float, name: str
) -> None:
    """Run `step` forever; a failure is logged and retried after a second (positions were not advanced)."""
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; retrying", name)
            await asyncio.sleep(1.0)
        try:
            await asyncio.wait_for(wakeup.wait(), timeout=idle_interval)
        except TimeoutError:
            pass
        wakeup.clear()
