"""Kafka consumers (FastStream subscribers) with a dead-letter topic and backoff.

FastStream would auto-commit before handling and has no dead-letter topic: every subscriber here sets a
group id, commits only after the handler returned (nack re-seeks on error, after a backoff), and sends a
message it can never process to `<topic>.dlq` with the reason in headers, then carries on. Contract events
go through the consumer's `Parking` (lif.delivery.parking), which also records what it parks.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from events import topics
from lif.delivery.failures import Backoff, describe, is_transient
from lif.delivery.parking import Parking, Unparkable

log = logging.getLogger(__name__)
T = TypeVar("T")


class InvalidMessage(Exception):
    """The message can never be processed; it goes to the dead-letter topic with this reason."""

    def __init__(self, reason: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or []


@dataclass(frozen=True)
class DeadLetterContent:
    """What a consumer puts in its dead letter instead of the original value (None keeps a null value null),
    and the headers it adds, e.g. where it kept the original."""

    value: bytes | None
    headers: dict[str, str] = field(default_factory=dict)


DeadLetterFilter = Callable[[ConsumerRecord, InvalidMessage], Awaitable[DeadLetterContent]]
"""Decides a dead letter's content for topics whose messages may hold personal data (the intake topic)."""


async def dead_letter(
    broker: KafkaBroker,
    record: ConsumerRecord,
    group_id: str,
    failure: InvalidMessage,
    content: DeadLetterContent | None = None,
) -> None:
    """Publish the original value (or `content`'s) to the topic's dead-letter topic with the reason and origin
    in headers. A null value (a tombstone) stays null when it has a key, and `lif-dlq-null-value` says so."""
    headers = {key: value.decode(errors="replace") for key, value in (record.headers or ())}
    headers.update(
        {
            "lif-dlq-reason": failure.reason,
            "lif-dlq-errors": json.dumps(failure.errors),
            "lif-dlq-source-topic": record.topic,
            "lif-dlq-source-partition": str(record.partition),
            "lif-dlq-source-offset": str(record.offset),
            "lif-dlq-consumer-group": group_id,
            "lif-dlq-null-value": "true" if record.value is None else "false",
        }
    )
    value = record.value
    if content is not None:
        headers.update(content.headers)
        value = content.value
    # a keyed None is published as a tombstone; a keyless one can only travel as b"" (the header tells)
    await broker.publish(value, topic=topics.dead_letter(record.topic), key=record.key, headers=headers)
    log.warning(
        "dead-lettered %s:%s@%s: %s %s", record.topic, record.partition, record.offset, failure.reason, failure.errors
    )


class OffsetBatch(ConsumerRebalanceListener):
    """Offsets of the messages whose handling finished, committed in batches and when partitions are revoked.

    Only finished messages are ever committed, so a crash redelivers at most a batch (a no-op: every
    consumer recognises what it already processed). A batch is committed after `size` messages, whenever
    a partition is caught up to its high-water mark (so an idle consumer has committed everything), and
    before a rebalance takes partitions away (so their next owner does not redo the batch).
    """

    def __init__(self, size: int = 200) -> None:
        self.size = size
        self.done: dict[TopicPartition, int] = {}
        self.pending = 0
        self.consumer: AIOKafkaConsumer | None = None

    async def finished(self, consumer: AIOKafkaConsumer, record: ConsumerRecord) -> None:
        self.consumer = consumer
        partition = TopicPartition(record.topic, record.partition)
        self.done[partition] = record.offset + 1
        self.pending += 1
        highwater = consumer.highwater(partition)
        if self.pending >= self.size or highwater is None or record.offset + 1 >= highwater:
            try:
                await self.commit()
            except Exception as exc:  # kept for the next commit; a redelivery meanwhile is a no-op
                log.warning("could not commit offsets (will retry with the next batch): %s", describe(exc))

    async def commit(self, only: Collection[TopicPartition] | None = None) -> None:
        offsets = {tp: offset for tp, offset in self.done.items() if only is None or tp in only}
        if not offsets or self.consumer is None:
            return
        await self.consumer.commit(offsets)
        for tp in offsets:
            if self.done.get(tp) == offsets[tp]:
                del self.done[tp]
        if not self.done:
            self.pending = 0

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        try:
            await self.commit(set(revoked))
        except Exception as exc:  # the next owner redoes the batch: a no-op
            log.warning("could not commit offsets of revoked partitions: %s", describe(exc))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.done = {tp: offset for tp, offset in self.done.items() if tp in set(assigned)}


def subscribe(
    broker: KafkaBroker,
    topic_names: Sequence[str],
    *,
    group_id: str,
    parse: Callable[[bytes], T],
    handle: Callable[[T, ConsumerRecord], Awaitable[None]],
    title: str,
    description: str = "",
    attempts: int = 3,
    dead_letter_content: DeadLetterFilter | None = None,
) -> None:
    """Register ONE consumer for every topic in `topic_names` (consumers of one group in one process would
    only rebalance one another): parse, handle, dead-letter what can never succeed, retry what may.

    A transient failure (`lif.delivery.failures`) is retried for ever with backoff: the consumer seeks
    back to the message, so neither it nor anything after it on its partition is committed. Any other
    failure is retried `attempts` times, then the message is dead-lettered with the reason and the
    consumer carries on. The dead-letter topic is `<source topic>.dlq`; `dead_letter_content` replaces
    what a dead letter carries (default: the original value as it came). Offsets go in an `OffsetBatch`.
    """
    failures: dict[tuple[str, int, int], Backoff] = {}
    batch = OffsetBatch()

    async def to_dead_letter(record: ConsumerRecord, failure: InvalidMessage) -> None:
        content = None if dead_letter_content is None else await dead_letter_content(record, failure)
        await dead_letter(broker, record, group_id, failure, content)

    @broker.subscriber(
        *topic_names,
        group_id=group_id,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        title=title,
        description=description,
        session_timeout_ms=10000,
        heartbeat_interval_ms=1000,
        listener=batch,
    )
    async def on_message(body: Any, msg: KafkaMessage) -> None:
        record: ConsumerRecord = msg.raw_message  # type: ignore[assignment]
        consumer: AIOKafkaConsumer = msg.consumer  # type: ignore[assignment]
        where = (record.topic, record.partition, record.offset)
        try:
            value = parse(record.value or b"")
            await handle(value, record)
        except InvalidMessage as failure:
            await to_dead_letter(record, failure)
        except Exception as exc:
            backoff = failures.setdefault(where, Backoff())
            if not is_transient(exc) and backoff.attempt + 1 >= attempts:
                await to_dead_letter(record, InvalidMessage(describe(exc)))
            else:
                delay = backoff.next()
                log.warning("handling %s:%s@%s failed (%s); retrying in %.1fs", *where, describe(exc), delay)
                await asyncio.sleep(delay)
                consumer.seek(TopicPartition(record.topic, record.partition), record.offset)
                return
        failures.pop(where, None)
        await batch.finished(consumer, record)


def parse_envelope_document(body: bytes) -> dict[str, Any]:
    """The event as a JSON object (the consumer's `Parking` parses it, so an invalid event can be parked)."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise InvalidMessage(f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidMessage("an event must be a JSON object")
    return document


def subscribe_events(
    broker: KafkaBroker, topic_names: Sequence[str], *, group_id: str, parking: Parking, title: str
) -> None:
    """Subscribe a consumer's parking to contract events; position = offset + 1 per topic-partition.

    What the consumer parks is also published to the topic's dead-letter topic, reason in the headers.
    """

    async def handle(envelope: dict[str, Any], record: ConsumerRecord) -> None:
        async def to_dead_letter(_: dict[str, Any], reason: str) -> None:
            await dead_letter(broker, record, group_id, InvalidMessage(f"parked by {parking.name}: {reason}"))

        try:
            await parking.deliver(
                f"kafka:{record.topic}:{record.partition}", record.offset + 1, envelope, on_parked=to_dead_letter
            )
        except Unparkable as exc:
            raise InvalidMessage(str(exc)) from exc

    subscribe(
        broker,
        topic_names,
        group_id=group_id,
        parse=parse_envelope_document,
        handle=handle,
        title=title,
    )
