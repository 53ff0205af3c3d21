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
from lif.delivery.parking import OnParked, Parking, Pending, Unparkable, event_ids

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

    async def finished(self, consumer: AIOKafkaConsumer, records: Sequence[ConsumerRecord]) -> None:
        """These records were handled (in order per partition): commit when a batch is due."""
        self.consumer = consumer
        caught_up = False
        for record in records:
            partition = TopicPartition(record.topic, record.partition)
            self.done[partition] = max(self.done.get(partition, 0), record.offset + 1)
            highwater = consumer.highwater(partition)
            caught_up = caught_up or highwater is None or record.offset + 1 >= highwater
        self.pending += len(records)
        if self.pending >= self.size or caught_up:
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


MAX_BATCH = 500
"""The most messages a consumer takes in one go (what is already fetched; it never waits to fill a batch)."""

Handle = Callable[[T, ConsumerRecord], Awaitable[None]]
HandleBatch = Callable[[Sequence[tuple[T, ConsumerRecord]]], Awaitable[Sequence["InvalidMessage | None"] | None]]
"""Handles many messages at once; may answer, per message in order, an `InvalidMessage` to dead-letter it."""


async def waiting(consumer: AIOKafkaConsumer, limit: int) -> list[ConsumerRecord]:
    """The records the consumer has already fetched (up to `limit`), without waiting for more; in order
    per partition."""
    if limit <= 0:
        return []
    fetched = await consumer.getmany(timeout_ms=0, max_records=limit)
    return [record for records in fetched.values() for record in records]


def rewind(consumer: AIOKafkaConsumer, records: Sequence[ConsumerRecord]) -> None:
    """Seek each partition back to the first of these records, so they are all consumed again."""
    first: dict[TopicPartition, int] = {}
    for record in records:
        partition = TopicPartition(record.topic, record.partition)
        first[partition] = min(first.get(partition, record.offset), record.offset)
    for partition, offset in first.items():
        consumer.seek(partition, offset)


def subscribe(
    broker: KafkaBroker,
    topic_names: Sequence[str],
    *,
    group_id: str,
    parse: Callable[[bytes], T],
    handle: Handle[T],
    handle_batch: HandleBatch[T] | None = None,
    title: str,
    description: str = "",
    attempts: int = 3,
    dead_letter_content: DeadLetterFilter | None = None,
    max_batch: int = MAX_BATCH,
) -> None:
    """Register ONE consumer for every topic in `topic_names` (consumers of one group in one process would
    only rebalance one another): parse, handle, dead-letter what can never succeed, retry what may.

    Each time it takes what is waiting: the next message (waiting for it when there is none) and whatever
    else the consumer has already fetched, up to `max_batch`, so a backlog goes in batches and a lone
    message is never held back. A batch of more than one goes to `handle_batch` when given (one
    transaction, say), which may answer an `InvalidMessage` for a message to dead-letter; when it
    raises for a reason that is not transient, or a message of it cannot be parsed, the batch is handled
    one message at a time with `handle`, so what fails is named exactly.

    A transient failure (`lif.delivery.failures`) is retried for ever with backoff: the consumer seeks
    back to the message (to the batch's first of each partition), so neither it nor anything after it on
    its partition is committed. Any other failure is retried `attempts` times, then the message is
    dead-lettered with the reason and the consumer carries on. The dead-letter topic is `<source
    topic>.dlq`; `dead_letter_content` replaces what a dead letter carries (default: the original value as
    it came). Offsets go in an `OffsetBatch`, only after their messages were handled.
    """
    failures: dict[tuple[str, int, int], Backoff] = {}
    stalled = Backoff()  # a batch failing transiently, however it is split when consumed again
    offsets = OffsetBatch()

    async def to_dead_letter(record: ConsumerRecord, failure: InvalidMessage) -> None:
        content = None if dead_letter_content is None else await dead_letter_content(record, failure)
        await dead_letter(broker, record, group_id, failure, content)

    async def retry_later(backoff: Backoff, where: tuple[str, int, int], exc: BaseException) -> None:
        delay = backoff.next()
        log.warning("handling %s:%s@%s failed (%s); retrying in %.1fs", *where, describe(exc), delay)
        await asyncio.sleep(delay)

    async def one(record: ConsumerRecord) -> bool:
        """Handle (or dead-letter) one message; False when it is to be consumed again later."""
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
                await retry_later(backoff, where, exc)
                return False
        failures.pop(where, None)
        return True

    async def as_batch(consumer: AIOKafkaConsumer, records: Sequence[ConsumerRecord]) -> bool:
        """Handle the records with `handle_batch`; False when they are to go one at a time instead.

        After a transient failure the records are rewound (consumed again later) and True is returned
        without committing them: the consumer goes back to polling, as a consumer group expects of it.
        """
        assert handle_batch is not None
        where = (records[0].topic, records[0].partition, records[0].offset)
        try:
            values = [(parse(record.value or b""), record) for record in records]
        except InvalidMessage:
            return False
        try:
            outcomes = await handle_batch(values)
        except Exception as exc:
            if not is_transient(exc):
                log.info("a batch of %s from %s:%s@%s failed (%s); one at a time", len(records), *where, exc)
                return False
            await retry_later(stalled, where, exc)
            rewind(consumer, records)
            return True
        stalled.reset()
        for record, outcome in zip(records, outcomes or (), strict=False):
            if outcome is not None:
                await to_dead_letter(record, outcome)
        await offsets.finished(consumer, records)
        return True

    async def consume(consumer: AIOKafkaConsumer, records: Sequence[ConsumerRecord]) -> None:
        if handle_batch is not None and len(records) > 1 and await as_batch(consumer, records):
            return
        for index, record in enumerate(records):
            if not await one(record):
                rewind(consumer, records[index:])
                await offsets.finished(consumer, records[:index])
                return
        await offsets.finished(consumer, records)

    @broker.subscriber(
        *topic_names,
        group_id=group_id,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        title=title,
        description=description,
        session_timeout_ms=10000,
        heartbeat_interval_ms=1000,
        listener=offsets,
    )
    async def on_message(body: Any, msg: KafkaMessage) -> None:
        consumer: AIOKafkaConsumer = msg.consumer  # type: ignore[assignment]
        first: ConsumerRecord = msg.raw_message  # type: ignore[assignment]
        await consume(consumer, [first, *await waiting(consumer, max_batch - 1)])


def parse_envelope_document(body: bytes) -> dict[str, Any]:
    """The event as a JSON object (the consumer's `Parking` parses it, so an invalid event can be parked)."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise InvalidMessage(f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidMessage("an event must be a JSON object")
    return document


def position_key(record: ConsumerRecord) -> str:
    """The stream a Kafka message belongs to, as consumers record it: its topic-partition."""
    return f"kafka:{record.topic}:{record.partition}"


def subscribe_events(
    broker: KafkaBroker,
    topic_names: Sequence[str],
    *,
    group_id: str,
    parking: Parking,
    title: str,
    max_batch: int = MAX_BATCH,
) -> None:
    """Subscribe a consumer's parking to contract events; position = offset + 1 per topic-partition.

    What is waiting goes to `Parking.deliver_many` (one transaction with the last position of each
    topic-partition, when the consumer can); parking stays per case. What the consumer parks is also
    published to the topic's dead-letter topic, reason in the headers.
    """

    def on_parked_of(records: dict[int, ConsumerRecord]) -> OnParked:
        async def to_dead_letter(envelope: dict[str, Any], reason: str) -> None:
            record = records[id(envelope)]
            await dead_letter(broker, record, group_id, InvalidMessage(f"parked by {parking.name}: {reason}"))

        return to_dead_letter

    async def handle(envelope: dict[str, Any], record: ConsumerRecord) -> None:
        try:
            await parking.deliver(
                position_key(record), record.offset + 1, envelope, on_parked=on_parked_of({id(envelope): record})
            )
        except Unparkable as exc:
            raise InvalidMessage(str(exc)) from exc

    async def handle_batch(items: Sequence[tuple[dict[str, Any], ConsumerRecord]]) -> None:
        try:
            for envelope, _ in items:
                event_ids(envelope)
        except Unparkable as exc:  # dead-lettered when the batch goes one at a time
            raise InvalidMessage(str(exc)) from exc
        await parking.deliver_many(
            [Pending(position_key(record), record.offset + 1, envelope) for envelope, record in items],
            on_parked=on_parked_of({id(envelope): record for envelope, record in items}),
        )

    subscribe(
        broker,
        topic_names,
        group_id=group_id,
        parse=parse_envelope_document,
        handle=handle,
        handle_batch=handle_batch,
        title=title,
        max_batch=max_batch,
    )
