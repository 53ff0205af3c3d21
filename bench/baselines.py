"""What PostgreSQL and Kafka do with no LIF in between, measured on the same servers in the same run."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.load import Notifications
from lif.db import create_pool
from lif.infra.topics import partitions_of

RAW_TABLE = "bench_raw_inserts"


@dataclass
class RawRate:
    count: int
    seconds: float
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def documents(count: int) -> list[str]:
    """The same kind of JSON LIF receives (an incident notification, about 550 bytes)."""
    notifications = Notifications(rng_seed=7)
    return [json.dumps(notifications.next()) for _ in range(count)]


async def single_row_inserts(database_url: str, *, connections: int, seconds: float) -> RawRate:
    """Autocommit INSERTs of one JSON document each, `connections` at a time, for `seconds`."""
    pool = await create_pool(database_url, min_size=connections, max_size=connections)
    try:
        await pool.execute(f"CREATE TABLE IF NOT EXISTS {RAW_TABLE} (id bigserial PRIMARY KEY, doc jsonb NOT NULL)")
        docs = documents(200)
        latencies: list[float] = []
        stop_at = time.monotonic() + seconds

        async def worker(offset: int) -> None:
            async with pool.acquire() as conn:
                statement = await conn.prepare(f"INSERT INTO {RAW_TABLE} (doc) VALUES ($1::jsonb)")
                i = offset
                while time.monotonic() < stop_at:
                    began = time.monotonic()
                    await statement.fetch(docs[i % len(docs)])
                    latencies.append(time.monotonic() - began)
                    i += 1

        started = time.monotonic()
        await asyncio.gather(*(worker(n) for n in range(connections)))
        return RawRate(len(latencies), time.monotonic() - started, latencies)
    finally:
        await pool.close()


async def kafka_produce_consume(bootstrap: str, topic: str, *, in_flight: int, seconds: float) -> RawRate:
    """Idempotent `acks=all` sends, `in_flight` awaited at a time, consumed back; rate = consumed / elapsed."""
    partitions = (await partitions_of(bootstrap, [topic]))[topic]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await consumer.start()
    await producer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)
        docs = [d.encode() for d in documents(200)]
        sent = 0
        stop_at = time.monotonic() + seconds
        received = 0
        last_received = time.monotonic()
        producing = True

        async def send_loop(offset: int) -> None:
            nonlocal sent
            i = offset
            while time.monotonic() < stop_at:
                await producer.send_and_wait(topic, docs[i % len(docs)], key=str(i).encode())
                sent += 1
                i += 1

        async def consume_loop() -> None:
            nonlocal received, last_received
            deadline = stop_at + 3 * seconds
            while (producing or received < sent) and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=200)
                count = sum(len(records) for records in batches.values())
                if count:
                    received += count
                    last_received = time.monotonic()

        started = time.monotonic()
        consuming = asyncio.create_task(consume_loop())
        await asyncio.gather(*(send_loop(n) for n in range(in_flight)))
        producing = False
        await consuming
        return RawRate(received, last_received - started)
    finally:
        await producer.stop()
        await consumer.stop()


async def copy_rows(database_url: str, rows: Sequence[tuple[Any, ...]]) -> RawRate:
    """COPY the rows (shaped like the read model's case_events) into a fresh table."""
    pool = await create_pool(database_url, max_size=1)
    try:
        await pool.execute(
            "DROP TABLE IF EXISTS bench_raw_copy; CREATE TABLE bench_raw_copy (event_id uuid PRIMARY KEY, "
            "case_id uuid NOT NULL, lscb text NOT NULL, event_type text NOT NULL, occurred_at timestamptz NOT NULL, "
            "recorded_at timestamptz NOT NULL, document jsonb NOT NULL)"
        )
        started = time.monotonic()
        async with pool.acquire() as conn:
            await conn.copy_records_to_table("bench_raw_copy", records=rows)
        return RawRate(len(rows), time.monotonic() - started)
    finally:
        await pool.close()
