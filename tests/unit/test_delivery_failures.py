"""The one classification of failures (transient: retry for ever; else park) and the work loop's cancel."""

from __future__ import annotations

import asyncio

import asyncpg
import psycopg
import pytest
from aiokafka.errors import KafkaConnectionError, RecordTooLargeError
from eventsourcing.persistence import OperationalError

from lif.delivery.failures import Backoff, TransientFailure, describe, is_transient
from lif.delivery.loop import wait_or_tick
from services.orchestration.errors import ConcurrentChange


def raised_from(outer: Exception, cause: BaseException) -> Exception:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise outer from inner
    except Exception as exc:
        return exc


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        psycopg.OperationalError("connection failed: server closed the connection"),
        OperationalError("eventsourcing's wrapper of a lost connection"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.DeadlockDetectedError("deadlock detected"),
        KafkaConnectionError("broker unavailable"),
        TimeoutError(),
        ConcurrentChange("kept conflicting; retry later"),
        TransientFailure("not now"),
        raised_from(RuntimeError("handler failed"), ConnectionResetError()),
    ],
)
def test_what_may_pass_is_transient(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        OverflowError("date value out of range"),
        asyncpg.UntranslatableCharacterError("unsupported Unicode escape sequence"),
        psycopg.DataError("invalid byte sequence"),
        ValueError("bad"),
        KeyError("payload"),
        RecordTooLargeError("too large"),  # a Kafka error that retrying does not cure
        raised_from(RuntimeError("wrapped"), OverflowError("date value out of range")),
    ],
)
def test_what_fails_the_same_way_every_time_is_not_transient(exc: BaseException) -> None:
    assert not is_transient(exc)


def test_the_reason_names_the_type_and_has_no_nul() -> None:
    assert describe(OverflowError("date value out of range")) == "OverflowError: date value out of range"
    assert "\x00" not in describe(ValueError("a\x00b"))
    assert len(describe(ValueError("x" * 10_000))) == 2000


def test_backoff_doubles_up_to_its_ceiling_and_resets() -> None:
    backoff = Backoff(first=0.2, ceiling=1.0)
    assert [backoff.next() for _ in range(5)] == [0.2, 0.4, 0.8, 1.0, 1.0]
    backoff.reset()
    assert backoff.next() == 0.2


async def test_a_cancel_racing_a_wakeup_is_not_lost() -> None:
    """asyncio.wait_for on 3.11 returns the result when the awaited event completes in the tick the cancel
    arrives, and the cancel is lost; the work loop's wait must raise CancelledError every time."""
    for _ in range(50):
        wakeup = asyncio.Event()

        async def loop(event: asyncio.Event = wakeup) -> None:
            while True:
                await wait_or_tick(event, 5.0)
                await asyncio.sleep(0)

        task = asyncio.create_task(loop())
        await asyncio.sleep(0)
        wakeup.set()
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=1.0)
        assert task in done and task.cancelled()

