"""Start-up that waits out what may pass: a database or broker that does not answer yet, or migrations
not applied yet. It retries with backoff, says so in the log, and gives up after a deadline with one
clear line instead of a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import asyncpg
import psycopg
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError, RequestTimedOutError
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError

from lif.db import connect
from lif.failures import OperatorError
from lif.migrations import MigrationSet, MigrationsPending, require_migrated

log = logging.getLogger(__name__)

T = TypeVar("T")


class DatabaseUnavailable(OperatorError):
    """The database did not accept a connection (not started, starting up, or out of connections)."""


class DatabaseRefused(OperatorError):
    """The database answered and refused (wrong password, no such database): waiting will not help."""


class StartupFailed(OperatorError):
    """A start-up kept failing for a reason that may pass until its deadline; the message says which."""


TRANSIENT: tuple[type[BaseException], ...] = (
    DatabaseUnavailable,
    MigrationsPending,
    ConnectionError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    psycopg.OperationalError,
    StoreOperationalError,
    StoreInterfaceError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    RequestTimedOutError,
)
"""What may pass on its own: the database or broker not reachable yet, or migrations still to come."""


def is_transient(exc: BaseException) -> bool:
    """True when `exc`, or an exception it was raised from, is one that waiting may cure."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TRANSIENT):
            return True
        seen = seen.__cause__
    return False


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def start_with_retry(
    start: Callable[[], Awaitable[T]],
    *,
    what: str,
    timeout: float,
    first_delay: float = 0.5,
    max_delay: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`start()`, again after a growing pause while it fails for a transient reason, for at most `timeout` s.

    Any other failure is raised at once. When the deadline passes, `StartupFailed` names the last reason.
    `start` must clean up after itself when it fails (a retry starts from nothing).
    """
    deadline = clock() + timeout
    delay = first_delay
    attempt = 1
    while True:
        try:
            return await start()
        except Exception as exc:
            if not is_transient(exc):
                raise
            remaining = deadline - clock()
            if remaining <= 0:
                raise StartupFailed(
                    f"{what}: could not start within {timeout:g}s (attempt {attempt}): {describe(exc)}"
                ) from exc
            pause = min(delay, remaining)
            log.warning(
                "%s: start-up attempt %d failed (%s); retrying in %.1fs, giving up in %.0fs",
                what,
                attempt,
                describe(exc),
                pause,
                remaining,
            )
            await asyncio.sleep(pause)
            delay = min(delay * 2, max_delay)
            attempt += 1


async def probe_database(url: str, *, timeout: float = 5.0) -> None:
    """Connect once and disconnect; `DatabaseUnavailable` when the server does not accept connections.

    A wrong password or a database that does not exist is not transient: `DatabaseRefused`, at once.
    """
    try:
        conn = await connect(url, timeout=timeout)
    except (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
        raise DatabaseUnavailable(f"PostgreSQL does not answer ({describe(exc)})") from exc
    except (asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError) as exc:
        raise DatabaseUnavailable(f"PostgreSQL does not accept connections yet ({describe(exc)})") from exc
    except asyncpg.PostgresError as exc:
        raise DatabaseRefused(f"PostgreSQL refused the connection ({describe(exc)}); check DATABASE_URL") from exc
    await conn.close()


async def database_ready(url: str, sets: Iterable[MigrationSet]) -> None:
    """The start-up check of every process: the database answers and has the migrations `sets` need."""
    await probe_database(url)
    await require_migrated(url, sets)
