"""Kafka consumers (FastStream subscribers) with a dead-letter topic and backoff.

FastStream would auto-commit before handling and has no dead-letter topic: every subscriber here sets a
group id, commits only after the handler returned (nack re-seeks on error, after a backoff), and sends a
message it can never process to `<topic>.dlq` with the reason in headers, then carries on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from events.envelope import EventEnvelope
from events.registry import UnknownEventError, parse_event
from lif.delivery.delivered import Delivered, Handler
from lif.validation import validation_field_errors

log = logging.getLogger(__name__)
T = TypeVar("T")


class InvalidMessage(Exception):
    """The message can never be processed; it goes to the dead-letter topic with this reason."""

    def __init__(self, reason: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or []


def parse_contract_event(body: bytes) -> EventEnvelope:
    """Parse a contract event or raise InvalidMessage."""
    try:
        return parse_event(body)
    except ValidationError as exc:
        raise InvalidMessage("invalid event", validation_field_errors(exc)) from exc
    except (UnknownEventError, ValueError) as exc:
        raise InvalidMessage(str(exc)) from exc


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
    dlq_topic: str,
    record: ConsumerRecord,
    group_id: str,
    failure: InvalidMessage,
    content: DeadLetterContent | None = None,
) -> None:
    """Publish the original value (or `content`'s) to the dead-letter topic with the reason and origin in
    headers. A null value (a tombstone) stays null when it has a key, and `lif-dlq-null-value` says so."""
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
    await broker.publish(value, topic=dlq_topic, key=record.key, headers=headers)
    log.warning(
        "dead-lettered %s:%s@%s: %s %s", record.topic, record.partition, record.offset, failure.reason, failure.errors
    )


def subscribe(
    broker: KafkaBroker,
    topic: str,
    *,
    group_id: str,
    parse: Callable[[bytes], T],
    handle: Callable[[T, ConsumerRecord], Awaitable[None]],
    dlq_topic: str,
    title: str,
    description: str = "",
    retry_backoff: float = 0.5,
    dead_letter_content: DeadLetterFilter | None = None,
) -> None:
    """Register a subscriber: parse, handle, dead-letter what can never succeed, retry what may.

    `dead_letter_content` replaces what a dead letter carries (default: the original value as it came).
    """

    @broker.subscriber(
        topic,
        group_id=group_id,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        title=title,
        description=description,
        session_timeout_ms=10000,
        heartbeat_interval_ms=1000,
    )
    async def on_message(body: Any, msg: KafkaMessage) -> None:
        record: ConsumerRecord = msg.raw_message  # type: ignore[assignment]
        try:
            value = parse(record.value or b"")
            await handle(value, record)
        except InvalidMessage as failure:
            content = None if dead_letter_content is None else await dead_letter_content(record, failure)
            await dead_letter(broker, dlq_topic, record, group_id, failure, content)
        except Exception:
            log.exception("handling %s:%s@%s failed; will retry", record.topic, record.partition, record.offset)
            await asyncio.sleep(retry_backoff)
            raise


def subscribe_events(
    broker: KafkaBroker, topic: str, *, group_id: str, handler: Handler, dlq_topic: str, title: str
) -> None:
    """Subscribe a contract-event handler; position = offset + 1 per topic-partition."""

    async def handle(event: EventEnvelope, record: ConsumerRecord) -> None:
        await handler(Delivered(f"kafka:{record.topic}:{record.partition}", record.offset + 1, event))

    subscribe(
        broker,
        topic,
        group_id=group_id,
        parse=parse_contract_event,
        handle=handle,
        dlq_topic=dlq_topic,
        title=title,
    )
