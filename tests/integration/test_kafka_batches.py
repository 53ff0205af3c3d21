"""Kafka subscribers take what is waiting and apply it as one transaction, over a real broker and PostgreSQL.

Intake's consumer of notifications records what is waiting with one group commit, a receipt for each.

Decisioning consumes a prefixed intake topic (three partitions) through the shared plumbing
(`subscribe_events` -> `Parking.deliver_many` -> one recording with every partition's position). A
trigger on its event table makes a recording fail part-way through its inserts (after the positions and
the first incident's events were written) while a flag is set: nothing of the batch may remain, and once
the flag is lifted every incident is answered exactly once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faststream.kafka import KafkaBroker

from events import topics
from lif.composition import (
    DECISIONING_SCHEMA,
    INTAKE_SCHEMA,
    make_dead_letter_store,
    make_decisioning,
    make_intake,
    make_parking,
)
from lif.db import close_pool, create_pool
from lif.delivery.delivered import Delivered
from lif.delivery.kafka import subscribe_events
from lif.delivery.tracking import TrackingConsumer
from services.decisioning.application import DecisioningApplication
from services.intake import handlers as intake_handlers
from tests.databases import fetch, fresh_database
from tests.harness import create_prefixed_topics, unique_prefix
from tests.poison import incident_envelope
from tests.polling import eventually
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

PARTITIONS = 3  # of the intake topic (deploy/kafka topic definitions)

FAIL_PART_WAY = """
CREATE TABLE public.fail_flag (on_ boolean);
CREATE SEQUENCE public.failed_recordings;
CREATE FUNCTION public.fail_part_way() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- rows of this transaction so far (a temporary table is dropped with the transaction's rollback)
    CREATE TEMP TABLE IF NOT EXISTS rows_so_far (n int) ON COMMIT DROP;
    INSERT INTO rows_so_far VALUES (1);
    IF EXISTS (SELECT 1 FROM public.fail_flag) AND (SELECT count(*) FROM rows_so_far) >= 3 THEN
        PERFORM nextval('public.failed_recordings');
        RAISE EXCEPTION 'injected failure part-way through a recording' USING ERRCODE = '40001';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER fail_part_way BEFORE INSERT ON "lif_decisioning"."decisioning_events"
    FOR EACH ROW EXECUTE FUNCTION public.fail_part_way();
"""


@dataclass
class Counting:
    """Decisioning as a parking consumer, counting how events reach it (one at a time or as batches)."""

    inner: TrackingConsumer
    batches: list[int] = field(default_factory=list)
    singles: int = 0

    async def handle(self, delivered: Delivered) -> None:
        self.singles += 1
        await self.inner.handle(delivered)

    async def handle_batch(self, batch: Sequence[Delivered]) -> None:
        self.batches.append(len(batch))
        await self.inner.handle_batch(batch)

    async def skip(self, position_key: str, position: int) -> None:
        await self.inner.skip(position_key, position)


@dataclass
class Subscribed:
    decisioning: DecisioningApplication
    counting: Counting
    topic: str
    url: str
    pool: asyncpg.Pool

    async def positions(self) -> int:
        """The offsets recorded for the topic, summed over its partitions (= messages consumed)."""
        found = [
            await asyncio.to_thread(self.decisioning.position, f"kafka:{self.topic}:{p}") for p in range(PARTITIONS)
        ]
        return sum(found)

    async def recommendations(self) -> int:
        return int(
            await self.pool.fetchval(
                f"SELECT count(*) FROM {DECISIONING_SCHEMA}.decisioning_events WHERE topic NOT LIKE '%IncidentNoted'"
            )
        )


async def publish_incidents(bootstrap: str, topic: str, count: int) -> list[UUID]:
    """`count` incidents of different cases, keyed by case id (so spread over the partitions)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    cases = []
    try:
        for index in range(count):
            envelope = incident_envelope(("MAN", "BOL", "SAL")[index % 3])
            cases.append(UUID(envelope["case_id"]))
            await producer.send(topic, json.dumps(envelope).encode(), key=envelope["case_id"].encode())
        await producer.flush()
    finally:
        await producer.stop()
    return cases


@pytest.fixture
async def subscribed(kafka_bootstrap: str, database_url: str) -> AsyncIterator[tuple[Subscribed, KafkaBroker]]:
    url = await fresh_database(database_url, "kbatch")
    prefix = unique_prefix()
    await create_prefixed_topics(kafka_bootstrap, prefix)
    decisioning = await asyncio.to_thread(make_decisioning, url)
    pool = await create_pool(url, max_size=3)
    counting = Counting(TrackingConsumer(decisioning))
    parking = await make_parking(pool, "decisioning", counting)
    broker = KafkaBroker(kafka_bootstrap)
    topic = prefix + topics.INTAKE
    subscribe_events(broker, [topic], group_id=prefix + "decisioning", parking=parking, title="test")
    yield Subscribed(decisioning, counting, topic, url, pool), broker
    await broker.stop()
    await close_pool(pool)
    await asyncio.to_thread(decisioning.close)


async def test_a_backlog_is_consumed_in_batches_and_each_incident_answered_once(
    subscribed: tuple[Subscribed, KafkaBroker], kafka_bootstrap: str
) -> None:
    sub, broker = subscribed
    cases = await publish_incidents(kafka_bootstrap, sub.topic, 60)
    await broker.start()  # the backlog is waiting before the consumer starts

    await eventually(lambda: _at_least(sub.positions, 60), timeout=60, what="the backlog to be consumed")
    assert await sub.recommendations() == 60
    for case_id in cases:
        case = await asyncio.to_thread(sub.decisioning.get_case, case_id)
        assert case is not None and len(case.recommendations) == 1
    delivered = sum(sub.counting.batches) + sub.counting.singles
    assert delivered == 60, (sub.counting.batches, sub.counting.singles)
    assert max(sub.counting.batches) > 1, sub.counting.batches
    assert len(sub.counting.batches) + sub.counting.singles < 30, sub.counting.batches  # not one by one


async def test_a_batch_that_fails_part_way_leaves_nothing_and_is_then_applied_once(
    subscribed: tuple[Subscribed, KafkaBroker], kafka_bootstrap: str
) -> None:
    sub, broker = subscribed
    await sub.pool.execute(FAIL_PART_WAY)
    await sub.pool.execute("INSERT INTO public.fail_flag VALUES (true)")
    cases = await publish_incidents(kafka_bootstrap, sub.topic, 30)
    await broker.start()

    async def failed_twice() -> bool:
        return int(await sub.pool.fetchval("SELECT last_value FROM public.failed_recordings")) >= 2

    await eventually(failed_twice, timeout=60, what="recordings failing part-way")
    assert max(sub.counting.batches) > 1, sub.counting.batches
    assert await sub.recommendations() == 0  # none of a batch that failed part-way
    assert await sub.pool.fetchval(f"SELECT count(*) FROM {DECISIONING_SCHEMA}.decisioning_events") == 0
    assert await sub.positions() == 0  # nor any partition's position

    await sub.pool.execute("DELETE FROM public.fail_flag")
    await eventually(lambda: _at_least(sub.positions, 30), timeout=60, what="the batch to be applied")
    assert await sub.recommendations() == 30
    for case_id in cases:
        case = await asyncio.to_thread(sub.decisioning.get_case, case_id)
        assert case is not None and len(case.recommendations) == 1


async def _at_least(value: Any, wanted: int) -> bool:
    return bool(await value() >= wanted)


async def test_intakes_backlog_of_notifications_goes_in_few_transactions_each_with_its_receipt(
    kafka_bootstrap: str, database_url: str
) -> None:
    url = await fresh_database(database_url, "kbintake")
    prefix = unique_prefix()
    await create_prefixed_topics(kafka_bootstrap, prefix)
    intake = await asyncio.to_thread(make_intake, url, b"kafka-batch-test-key-0123456789abc")
    dead_letters = await asyncio.to_thread(make_dead_letter_store, url)
    docs = [notification() for _ in range(20)]
    values = [json.dumps(doc).encode() for doc in docs] + [b"not json", json.dumps(docs[0]).encode()]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send(prefix + topics.INCIDENTS, value)
        await producer.flush()
    finally:
        await producer.stop()
    broker = KafkaBroker(kafka_bootstrap)
    intake_handlers.register(broker, intake, topic_prefix=prefix, dead_letters=dead_letters)
    receipts = AIOKafkaConsumer(
        prefix + topics.INCIDENT_RECEIPTS, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
    )
    await receipts.start()
    await broker.start()
    statuses: list[str] = []
    try:

        async def all_answered() -> bool:
            for records in (await receipts.getmany(timeout_ms=200)).values():
                statuses.extend(json.loads(r.value)["status"] for r in records)
            return len(statuses) >= len(values)

        await eventually(all_answered, timeout=60, what="a receipt for every notification")
    finally:
        await broker.stop()
        await receipts.stop()
        await asyncio.to_thread(dead_letters.close)
        await asyncio.to_thread(intake.personal.close)
        await asyncio.to_thread(intake.close)
    assert sorted(statuses) == sorted(["accepted"] * 20 + ["invalid", "duplicate"])
    rows = await fetch(
        url, f'SELECT count(*) AS n, count(DISTINCT xmin::text) AS tx FROM "{INTAKE_SCHEMA}".intake_events'
    )
    assert rows[0]["n"] == 20
    assert rows[0]["tx"] < 10, rows  # committed in batches, not one transaction per notification
