"""Which failures may pass (retry for ever, never park) and which never will (park after a few tries).

The one place that decides it, for every consumer in both runtimes. A failure is transient when it, or
any exception it was raised from, says the database or the broker could not be reached or asked us to
try again (a lost connection, a deadlock, a serialisation failure, a retriable Kafka error), or is a
`TransientFailure`. Everything else (a NUL character PostgreSQL cannot store, a date overflow in the
deadline arithmetic, a bug) is deterministic: the same event fails the same way every time.
"""

from __future__ import annotations

import asyncpg
import psycopg
from eventsourcing import persistence

TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionRefusedError, ConnectionResetError, socket errors
    TimeoutError,
    psycopg.OperationalError,  # connection lost, pool timeout, serialisation failure, deadlock
    psycopg.InterfaceError,
    persistence.OperationalError,  # eventsourcing's wrappers of the same
    persistence.InterfaceError,
    persistence.ConnectionPoolClosedError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.OperatorInterventionError,
    asyncpg.TransactionRollbackError,  # serialisation failure, deadlock detected
)


class TransientFailure(Exception):
    """Raised by a handler to say 'not now, try again later' (a conflict with a concurrent writer, say)."""


def is_transient(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) may pass if the same event is tried again later."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (TransientFailure, *TRANSIENT_TYPES)):
            return True
        if getattr(current, "retriable", False):  # aiokafka's KafkaError subclasses say it themselves
            return True
        current = current.__cause__ or current.__context__
    return False


def describe(exc: BaseException) -> str:
    """The reason recorded with a parked event: exception type and message, printable and bounded."""
    text = f"{type(exc).__name__}: {exc}".replace("\x00", "\\x00")
    return text if len(text) <= 2000 else text[:1997] + "..."


class Backoff:
    """Exponential backoff with a ceiling: 0.2 s, 0.4 s, ... up to `ceiling`."""

    def __init__(self, first: float = 0.2, ceiling: float = 5.0) -> None:
        self.first = first
        self.ceiling = ceiling
        self.attempt = 0

    def next(self) -> float:
        delay = min(self.ceiling, self.first * (2**self.attempt))
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
