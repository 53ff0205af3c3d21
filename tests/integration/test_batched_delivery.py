"""Batched delivery on a real PostgreSQL: one transaction for what is waiting, the guarantees of one at a time.

`Parking.deliver_many` hands a batch to a consumer's `handle_batch` when nothing in it is parked; a batch
that fails deterministically is delivered again one event at a time, so parking names the exact event.
The projector's batch path is checked against the same events applied one at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from events.envelope import EventEnvelope
from events.registry import parse_event
from lif.db import create_pool
from lif.delivery.delivered import Delivered
from lif.delivery.parking import ParkedEvents, Parking, Pending
from lif.migrations import migrate
from lif.migrations import sets as migration_sets
from projections.projector import CaseProjector
from projections.schema import SCHEMA
from tests.databases import fresh_database
from tests.orchestration_samples import Case, Feed, popo_app, recorded_events
from tests.poison import incident_envelope

pytestmark = [pytest.mark.integration]


class BatchingFake:
    """Applies events in memory; a batch holding an event set to fail applies none of it and raises."""

    def __init__(self) -> None:
        self.applied: list[UUID] = []
        self.batches: list[int] = []
        self.skipped: list[tuple[str, int]] = []
        self.failing: set[UUID] = set()

    async def handle(self, delivered: Delivered) -> None:
        if delivered.event.event_id in self.failing:
            raise ValueError("cannot apply")
        self.applied.append(delivered.event.event_id)

    async def handle_batch(self, batch: Sequence[Delivered]) -> None:
        if any(d.event.event_id in self.failing for d in batch):
            raise ValueError("cannot apply")
        self.batches.append(len(batch))
        self.applied.extend(d.event.event_id for d in batch)

    async def skip(self, position_key: str, position: int) -> None:
        self.skipped.append((position_key, position))


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    url = await fresh_database(database_url, "batching")
    await migrate(url, [migration_sets.PROJECTIONS])
    pool = await create_pool(url)
    yield pool
    await pool.close()


def parking_of(pool: asyncpg.Pool, consumer: Any) -> Parking:
    return Parking("test", consumer, ParkedEvents(pool, SCHEMA, "test"), attempts=2, backoff=0.01)


def pending(events: Sequence[dict[str, Any]], key: str = "log:intake", start: int = 1) -> list[Pending]:
    return [Pending(key, position, event) for position, event in enumerate(events, start=start)]


async def test_what_is_waiting_goes_to_the_consumer_as_one_batch_in_order(pool: asyncpg.Pool) -> None:
    fake = BatchingFake()
    events = [incident_envelope("MAN") for _ in range(5)]
    await parking_of(pool, fake).deliver_many(pending(events))
    assert fake.batches == [5]
    assert fake.applied == [UUID(e["event_id"]) for e in events]


async def test_a_failing_batch_is_delivered_one_at_a_time_and_only_the_bad_event_is_parked(pool: asyncpg.Pool) -> None:
    fake = BatchingFake()
    events = [incident_envelope("MAN") for _ in range(4)]
    fake.failing.add(UUID(events[2]["event_id"]))
    parking = parking_of(pool, fake)
    await parking.deliver_many(pending(events))
    assert fake.batches == []
    assert fake.applied == [UUID(e["event_id"]) for e in (events[0], events[1], events[3])]
    (parked,) = await parking.parked.select()
    assert (parked.event_id, parked.position) == (UUID(events[2]["event_id"]), 3)
    assert fake.skipped == [("log:intake", 3)]


async def test_a_batch_touching_a_case_with_a_parked_event_goes_one_at_a_time(pool: asyncpg.Pool) -> None:
    fake = BatchingFake()
    head, later = incident_envelope("MAN"), incident_envelope("MAN")
    later["case_id"] = head["case_id"]
    other = incident_envelope("BOL")
    fake.failing.add(UUID(head["event_id"]))
    parking = parking_of(pool, fake)
    await parking.deliver("log:intake", 1, head)  # parked
    await parking.deliver_many(pending([other, later], start=2))
    assert fake.batches == [] and fake.applied == [UUID(other["event_id"])]
    parked = await parking.parked.select()
    assert [p.event_id for p in parked] == [UUID(head["event_id"]), UUID(later["event_id"])]
    assert parked[1].behind == UUID(head["event_id"])


async def _read_model(pool: asyncpg.Pool) -> dict[str, Any]:
    return {
        "positions": sorted(
            tuple(r) for r in await pool.fetch(f"SELECT position_key, position FROM {SCHEMA}.positions")
        ),
        "processed": sorted(r[0] for r in await pool.fetch(f"SELECT event_id FROM {SCHEMA}.processed_events")),
        "events": sorted(
            tuple(r) for r in await pool.fetch(f"SELECT event_id, case_id, event_type FROM {SCHEMA}.case_events")
        ),
        "cases": sorted(
            tuple(r)
            for r in await pool.fetch(
                f"SELECT case_id, lscb, incident_date, notifying_agency, review_type, statutory_scr, "
                f"decision::text, decisions_count FROM {SCHEMA}.cases"
            )
        ),
        "deadlines": sorted(tuple(r) for r in await pool.fetch(f"SELECT case_id, name, due FROM {SCHEMA}.deadlines")),
        "reviews": sorted(
            tuple(r) for r in await pool.fetch(f"SELECT case_id, status, phase, stages::text FROM {SCHEMA}.reviews")
        ),
    }


def _history() -> list[EventEnvelope]:
    """Incidents, then two cases' decisioning events and orchestration's answers to them, as logs hold them."""
    incidents = [parse_event(incident_envelope("MAN")) for _ in range(4)]
    case, other = Case(), Case(lscb="MAN")
    decisioning: list[EventEnvelope] = [case.recommendation(), other.recommendation(), case.decision("initiate_scr")]
    orchestration = popo_app()
    feed = Feed(orchestration)
    for event in decisioning:
        feed(event)
    return [*incidents, *decisioning, *recorded_events(orchestration)]


async def test_the_projectors_batch_equals_one_at_a_time_and_republication_changes_nothing(
    database_url: str, pool: asyncpg.Pool
) -> None:
    events = _history()
    batch = [Delivered("log:all", position, event) for position, event in enumerate(events, start=1)]
    # two events republished at new positions within the same batch
    batch += [Delivered("log:all", len(batch) + 1, events[1]), Delivered("log:all", len(batch) + 2, events[5])]

    batched = CaseProjector(pool)
    await batched.handle_batch(batch)
    after_batch = await _read_model(pool)
    await batched.handle_batch(batch)  # redelivered as a whole
    await batched.handle_batch(batch[2:7])
    assert await _read_model(pool) == after_batch

    other_url = await fresh_database(database_url, "batching_single")
    other = await create_pool(other_url)
    try:
        single = CaseProjector(other)
        for delivered in batch:
            await single.handle(delivered)
        assert await _read_model(other) == after_batch
    finally:
        await other.close()
    assert after_batch["positions"] == [("log:all", len(events) + 2)]
    assert len(after_batch["events"]) == len(events)
    assert len(after_batch["cases"]) == 6 and after_batch["deadlines"] and after_batch["reviews"]
    assert any(row[7] == 1 for row in after_batch["cases"])  # the Chair's decision was folded in
