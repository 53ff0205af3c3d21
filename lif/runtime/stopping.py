"""Bounded shutdown: cancel, wait with a deadline, and say what did not stop instead of hanging.

A task that swallows its cancellation, or a close that waits on a connection never returned, would
otherwise hold a shutdown (a Ctrl-C, a SIGTERM, a test's teardown) for ever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

STOP_TIMEOUT = 10.0


async def stop_tasks(tasks: Iterable[asyncio.Task[Any]], timeout: float = STOP_TIMEOUT) -> list[str]:
    """Cancel every task and wait up to `timeout` seconds; returns (and logs) the names of those still running."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=timeout)
    stuck = [task.get_name() for task in pending if not task.done()]
    if stuck:
        log.error("did not stop within %ss after cancel: %s", timeout, ", ".join(stuck))
    for task in pending:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.warning("task %s had failed: %r", task.get_name(), task.exception())
    return stuck


async def close_within(name: str, close: Callable[[], Awaitable[Any]], timeout: float = STOP_TIMEOUT) -> bool:
    """Run one closer with a deadline; a failure or a timeout is logged, never raised. True when it closed."""
    try:
        async with asyncio.timeout(timeout):
            await close()
    except TimeoutError:
        log.error("closing %s did not finish within %ss; going on", name, timeout)
        return False
    except Exception:
        log.exception("closing %s failed; going on", name)
        return False
    return True


def in_thread(close: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    """A blocking close as an awaitable closer (the thread may outlive a timeout, the shutdown does not)."""
    return lambda: asyncio.to_thread(close)
