"""The outbox relay: publish a service's notification log to Kafka, at least once, in order per case.

The position is recorded only after the broker acknowledged every event up to it (idempotent producer,
acks=all), so a crash at any line republishes and never skips. Consumers recognise a republished event
by its event id.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import asyncpg
from aiokafka import AIOKafkaProducer
from eventsourcing.application import Application

from lif.delivery.log import read_log_page
from lif.delivery.loop import work_forever


class RelayPositions:
    """Where each relay has got to, in the service's own schema (table made by its migrations)."""

    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool = pool
        self.table = f'"{schema}".relay_positions'
        self.schema = schema

    async def get(self, relay: str) -> int:
        value = await self.pool.fetchval(f"SELECT position FROM {self.table} WHERE relay = $1", relay)
        return int(value or 0)

    async def set(self, relay: str, position: int) -> None:
        await self.pool.execute(
            f"INSERT INTO {self.table} (relay, position) VALUES ($1, $2) "
            "ON CONFLICT (relay) DO UPDATE SET position = GREATEST(EXCLUDED.position, "
            f"{self.table}.position)",
            relay,
            position,
        )


def create_producer(bootstrap: str) -> AIOKafkaProducer:
    """The only producer configuration we publish events with."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
    )


class LogRelay:
    """Follows one application's log and publishes it to one topic, keyed by case id."""

    def __init__(
        self,
        app: Application,
        topic: str,
        producer: AIOKafkaProducer,
        positions: RelayPositions,
        *,
        name: str | None = None,
        batch_size: int = 500,
        idle_interval: float = 0.05,
    ) -> None:
        self.app = app
        self.topic = topic
        self.producer = producer
        self.positions = positions
        self.name = name or topic
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        self.wakeup = asyncio.Event()
        self.notified: Callable[[], bool] | None = None  # set when every writer of the log wakes it

    async def publish_pending(self) -> int:
        """Publish everything after the recorded position; returns how many were published."""
        position = await self.positions.get(self.name)
        total = 0
        while True:
            # a page of only internal notifications (case watches) holds no event and still moves the relay on
            batch, last = await asyncio.to_thread(read_log_page, self.app, position, self.batch_size)
            if last == position:
                return total
            futures = [
                await self.producer.send(
                    self.topic,
                    value=json.dumps(item.envelope, separators=(",", ":")).encode(),
                    key=str(item.case_id).encode(),
                    headers=[
                        ("lif-event-type", str(item.envelope["event_type"]).encode()),
                        ("lif-event-id", str(item.envelope["event_id"]).encode()),
                        ("lif-schema-version", str(item.envelope["schema_version"]).encode()),
                    ],
                )
                for item in batch
            ]
            await asyncio.gather(*futures)
            position = last
            await self.positions.set(self.name, position)
            total += len(batch)

    async def run(self) -> None:
        """Publish forever; woken early by `wakeup` (set when the application saves)."""
        await work_forever(
            self.publish_pending,
            self.wakeup,
            idle_interval=self.idle_interval,
            name=f"relay {self.name}",
            notified=self.notified,
        )
