"""Wake the loops that read a log when anyone commits to it: PostgreSQL's NOTIFY, in this process or another.

eventsourcing's PostgreSQL recorder sends `NOTIFY <events table>` in every transaction that inserts
events, and PostgreSQL delivers it at commit. A LISTEN session (one per `LogWakeups`) turns those into wake-ups,
so a follower or relay needs no fast polling to see what another process (a second intake instance, an
admin command) recorded: it sleeps until told, with a slow tick (`lif.delivery.loop.IDLE_CEILING`) as
the safety net for a notification lost while the session reconnects. Writers in the same process still
wake their readers directly, a round trip sooner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg
from eventsourcing.application import Application

from lif.db import connect
from lif.delivery.failures import Backoff

log = logging.getLogger(__name__)

Wake = Callable[[], None]


def log_channel(app: Application) -> str | None:
    """The NOTIFY channel of `app`'s log, or None when its recorder is not PostgreSQL's (POPO in unit tests)."""
    channel = getattr(app.recorder, "channel_name", None)
    return channel if isinstance(channel, str) and channel else None


def _setter(event: asyncio.Event) -> Callable[[object], None]:
    return lambda _conn: event.set()


class LogWakeups:
    """One LISTEN session for the logs this process reads; `watch` before `start`."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.wakes: dict[str, list[Wake]] = {}
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def watch(self, app: Application, wake: Wake) -> bool:
        """Call `wake` whenever `app`'s log is committed to; False when its log sends no notifications."""
        channel = log_channel(app)
        if channel is None:
            return False
        self.wakes.setdefault(channel, []).append(wake)
        return True

    def start(self) -> asyncio.Task[None]:
        """Listen (and reconnect when the session is lost) until cancelled; the caller stops the task."""
        self._task = asyncio.create_task(self._listen_forever(), name="log wake-ups")
        return self._task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _wake_all(self) -> None:
        for wakes in self.wakes.values():
            for wake in wakes:
                wake()

    def _notified(self, _conn: object, _pid: int, channel: str, _payload: object) -> None:
        for wake in self.wakes.get(channel, ()):
            wake()

    async def _listen_forever(self) -> None:
        if not self.wakes:
            return
        backoff = Backoff(first=0.2, ceiling=2.0)
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await connect(self.database_url)
                lost = asyncio.Event()
                conn.add_termination_listener(_setter(lost))
                for channel in self.wakes:
                    await conn.add_listener(channel, self._notified)
                backoff.reset()
                self.listening.set()
                self._wake_all()  # what was committed while nobody listened is read now
                await lost.wait()
                log.warning("log wake-ups: the LISTEN session was lost; reconnecting")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("log wake-ups: cannot listen (%s: %s); polling meanwhile", type(exc).__name__, exc)
            finally:
                self.listening.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close(timeout=2))
            await asyncio.sleep(backoff.next())
