"""Parking on a real PostgreSQL: bounded retries, order per case, transient failures, retry and drop.

The consumer here is a fake that fails on the events a test names, so each rule is seen on its own; the
parked events live in a real `parked_events` table, as every consumer's do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from lif.db import create_pool
from lif.delivery.delivered import Delivered
from lif.delivery.parking import ParkedEvents, Parking
from lif.migrations import migrate
from lif.migrations import sets as migration_sets
from tests.databases import fresh_database
from tests.poison import incident_envelope

pytestmark = [pytest.mark.integration]


class FakeConsumer:
    """Applies events in memory; raises the exception set for an event id, as many times as asked."""

    def __init__(self) -> None:
        self.applied: list[UUID] = []
        self.skipped: list[tuple[str, int]] = []
        self.failures: dict[UUID, tuple[BaseException, int]] = {}
        self.calls = 0

    def fail(self, event_id: str, exc: BaseException, times: int = 10**6) -> None:
        self.failures[UUID(event_id)] = (exc, times)

    async def handle(self, delivered: Delivered) -> None:
        self.calls += 1
        exc, times = self.failures.get(delivered.event.event_id, (None, 0))
        if exc is not None and times > 0:
            self.failures[delivered.event.event_id] = (exc, times - 1)
            raise exc
        self.applied.append(delivered.event.event_id)

    async def skip(self, position_key: str, position: int) -> None:
        self.skipped.append((position_key, position))


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    url = await fresh_database(database_url, "parking")
    await migrate(url, [migration_sets.PROJECTIONS])  # its parked_events table, as every consumer's
    pool = await create_pool(url)
    yield pool
    await pool.close()


@pytest.fixture
async def parking(pool: asyncpg.Pool) -> Parking:
    parked = ParkedEvents(pool, "lif_projections", "test")
    return Parking("test", FakeConsumer(), parked, attempts=3, backoff=0.01)


def fake(parking: Parking) -> FakeConsumer:
    assert isinstance(parking.consumer, FakeConsumer)
    return parking.consumer


def events_of_case(lscb: str, count: int) -> list[dict[str, Any]]:
    first = incident_envelope(lscb)
    rest = [incident_envelope(lscb) for _ in range(count - 1)]
    for event in rest:
        event["case_id"] = first["case_id"]
    return [first, *rest]


async def test_a_deterministic_failure_is_tried_three_times_then_parked_and_its_position_recorded(
    parking: Parking,
) -> None:
    (bad,) = events_of_case("MAN", 1)
    fake(parking).fail(bad["event_id"], OverflowError("date value out of range"))
    await parking.deliver("log:intake", 7, bad)
    assert fake(parking).calls == 3
    assert fake(parking).skipped == [("log:intake", 7)]
    (parked,) = await parking.parked.select()
    assert (parked.event_id, parked.position_key, parked.position) == (UUID(bad["event_id"]), "log:intake", 7)
    assert parked.reason == "OverflowError: date value out of range" and parked.behind is None
    assert parked.envelope == bad

    await parking.deliver("log:intake", 7, bad)  # redelivered (a restart before the position was kept)
    assert fake(parking).calls == 3 and len(await parking.parked.select(None)) == 1


async def test_later_events_of_the_same_case_wait_behind_and_other_cases_go_on(parking: Parking) -> None:
    first, second, third = events_of_case("MAN", 3)
    (other,) = events_of_case("BOL", 1)
    fake(parking).fail(first["event_id"], ValueError("cannot apply"))
    for position, event in enumerate((first, second, other, third), start=1):
        await parking.deliver("kafka:t:0", position, event)

    assert fake(parking).applied == [UUID(other["event_id"])]  # the other case was not held up
    parked = await parking.parked.select()
    assert [p.event_id for p in parked] == [UUID(e["event_id"]) for e in (first, second, third)]
    assert [p.behind for p in parked] == [None, UUID(first["event_id"]), UUID(first["event_id"])]
    assert parked[1].reason == f"parked behind {first['event_id']}"
    assert fake(parking).calls == 3 + 1  # the ones behind were never handed to the handler
    assert [s[1] for s in fake(parking).skipped] == [1, 2, 4]


async def test_a_transient_failure_is_raised_for_the_caller_to_retry_and_nothing_is_parked(parking: Parking) -> None:
    (event,) = events_of_case("MAN", 1)
    fake(parking).fail(event["event_id"], ConnectionRefusedError(111, "Connection refused"), times=2)
    for _ in range(2):
        with pytest.raises(ConnectionRefusedError):
            await parking.deliver("log:intake", 1, event)
    assert await parking.parked.select(None) == [] and fake(parking).skipped == []
    await parking.deliver("log:intake", 1, event)  # the database is back
    assert fake(parking).applied == [UUID(event["event_id"])]


async def test_an_event_that_is_not_a_contract_event_is_parked_with_the_validation_error(parking: Parking) -> None:
    (event,) = events_of_case("MAN", 1)
    event["payload"]["facts"]["outcome"] = "exploded"
    await parking.deliver("log:intake", 3, event)
    (parked,) = await parking.parked.select()
    assert parked.reason.startswith("ValidationError") and "outcome" in parked.reason


async def test_retry_replays_the_case_in_order_and_a_failure_becomes_the_new_head(parking: Parking) -> None:
    first, second, third = events_of_case("MAN", 3)
    fake(parking).fail(first["event_id"], ValueError("not yet"), times=3)  # fails until it is retried
    fake(parking).fail(third["event_id"], ValueError("still broken"))
    for position, event in enumerate((first, second, third), start=1):
        await parking.deliver("log:intake", position, event)
    with pytest.raises(LookupError, match="waits behind"):
        await parking.retry(UUID(second["event_id"]), "ops")

    result = await parking.retry(UUID(first["event_id"]), "ops")
    assert result.retried == [UUID(first["event_id"]), UUID(second["event_id"])]
    assert result.failed == UUID(third["event_id"]) and result.reason == "ValueError: still broken"
    assert fake(parking).applied == [UUID(first["event_id"]), UUID(second["event_id"])]
    (still,) = await parking.parked.select()
    assert still.event_id == UUID(third["event_id"]) and still.behind is None and still.reason == result.reason
    retried = await parking.parked.select("retried")
    assert {p.resolved_by for p in retried} == {"ops"} and all(p.resolved_at for p in retried)
    assert (await parking.parked.counts()) == {"parked": 1, "retried": 2, "dropped": 0}


async def test_drop_marks_who_and_when_and_the_next_of_the_case_becomes_the_head(parking: Parking) -> None:
    first, second = events_of_case("MAN", 2)
    fake(parking).fail(first["event_id"], ValueError("never"))
    await parking.deliver("log:intake", 1, first)
    await parking.deliver("log:intake", 2, second)
    promoted = await parking.drop(UUID(first["event_id"]), "jo.bloggs")
    assert promoted == UUID(second["event_id"])
    dropped = await parking.parked.get(UUID(first["event_id"]))
    assert dropped is not None and dropped.status == "dropped" and dropped.resolved_by == "jo.bloggs"
    head = await parking.parked.get(promoted)
    assert head is not None and head.behind is None
    await parking.deliver("log:intake", 1, first)  # a dropped event redelivered is never applied
    assert fake(parking).applied == []
    assert (await parking.retry(promoted, "jo.bloggs")).retried == [promoted]
    with pytest.raises(LookupError):
        await parking.drop(uuid4(), "jo.bloggs")
