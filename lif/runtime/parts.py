"""`lif run` over more than one process: which consumers each runs, and the second process's supervision.

One Python process holds one GIL, so the embedded runtime in one process uses one core however many the
machine has. With `LIF_PROCESSES=2` (the default where there are two cores or more) `lif run` serves HTTP
and runs decisioning's and orchestration's consumers itself, and starts `lif consume`, a
second process that runs the read model's, notifications', learning's and the outbox's (with the ticker
and the dispatch workers). Nothing else changes: every consumer keeps its position with its effects in
PostgreSQL, and each process is woken by the other's commits through PostgreSQL's NOTIFY
(`lif.delivery.wakeups`).

The second process dies with the first (the kernel's parent-death signal), as in one process a kill -9
took every consumer with it; when it dies alone, the first logs it, says so on `/readyz`, and starts it
again.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from lif.delivery.failures import Backoff

log = logging.getLogger(__name__)

SECOND_PROCESS = frozenset({"projections", "notifications", "notifications_outbox", "learning", "learning_register"})
"""The consumers `lif consume` runs when `lif run` uses two processes (the busier half by py-spy, with the
read model's fold and notifications' obligations)."""


@dataclass(frozen=True)
class Part:
    """What one process of the embedded runtime runs: some consumers, and perhaps the timers (the
    notifications ticker and the outbox's dispatch workers, which belong with notifications' consumer)."""

    second: bool | None = None
    """None: every consumer (one process); False: those not in `SECOND_PROCESS`; True: those in it."""

    def runs(self, consumer: str) -> bool:
        return self.second is None or (consumer in SECOND_PROCESS) == self.second

    @property
    def timers(self) -> bool:
        return self.second is not False


WHOLE = Part()
FIRST = Part(second=False)
SECOND = Part(second=True)

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent goes; exit now if it already went."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


class SecondProcess:
    """`lif consume`, started by `lif run` and started again when it exits on its own."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)
        self.process: asyncio.subprocess.Process | None = None
        self.stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self._supervise(), name="lif consume")
        return self._task

    async def _supervise(self) -> None:
        backoff = Backoff(first=1.0, ceiling=30.0)
        while not self.stopping:
            env = {**self.env, "LIF_PARENT_PID": str(os.getpid())}
            self.process = await asyncio.create_subprocess_exec(sys.executable, "-m", "lif.cli", "consume", env=env)
            code = await self.process.wait()
            if self.stopping:
                return
            delay = backoff.next()
            log.warning("the consumer process (lif consume) exited with %s; starting it again in %.0fs", code, delay)
            await asyncio.sleep(delay)

    async def stop(self, timeout: float) -> None:
        """SIGTERM (it stops its consumers within their own timeout), then SIGKILL after `timeout`."""
        self.stopping = True
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(timeout):
                    await process.wait()
            except TimeoutError:
                log.warning("the consumer process did not stop within %ss; killing it", timeout)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def until_stopped() -> None:
    """Wait for SIGTERM or SIGINT (the consumer process has no uvicorn to do it)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
