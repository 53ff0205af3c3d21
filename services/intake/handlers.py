"""Kafka adapter of referral intake: incident notifications on `lif.incidents.v1`.

After each message intake publishes a receipt on `lif.incidents.receipts.v1` (at least once), keyed by the
source reference as the integrator sent it, so an integrator learns its case id or why it was refused.
What cannot be accepted is dead-lettered without the notification's text: the original bytes go to
intake's dead-letter store (erasable), and the dead letter names them by id.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from pydantic import ValidationError

from events import topics
from events.envelope import Actor
from events.fields import printable_line
from events.incidents import IncidentNotification
from events.receipts import IncidentReceipt, ReceiptFieldError, ReceiptStatus
from lif.delivery.kafka import DeadLetterContent, InvalidMessage, subscribe
from lif.json_input import JsonInputError, parse_json
from lif.pseudonym import keyed_hash
from lif.validation import validation_field_errors
from services.intake.application import IntakeApplication, Submission, SubmitResult, UnknownBoardError
from services.intake.dead_letters import DeadLetterStore

GROUP_ID = "lif-intake"
RECEIPT_STATUS: dict[str, ReceiptStatus] = {"created": "accepted", "duplicate": "duplicate", "conflict": "conflict"}
NULL_VALUE = InvalidMessage(
    "null value (tombstone): no notification",
    [{"field": "value", "message": "the message has no value; publish an IncidentNotification"}],
)


def parse_notification(body: bytes) -> IncidentNotification:
    """The notification in `body`, by the same rules as over HTTP (duplicate keys refused too)."""
    try:
        document = parse_json(body)
    except JsonInputError as exc:
        raise InvalidMessage("invalid incident notification", exc.errors) from exc
    except ValueError as exc:
        raise InvalidMessage("invalid incident notification", [{"field": "(body)", "message": str(exc)}]) from exc
    try:
        return IncidentNotification.model_validate(document)
    except ValidationError as exc:
        raise InvalidMessage("invalid incident notification", validation_field_errors(exc)) from exc


def _readable(value: bytes | None) -> dict[str, Any]:
    """What can be read of a message that may not be a valid notification (nothing, when not JSON)."""
    if not value:
        return {}
    try:
        document = json.loads(value)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _text(value: Any, longest: int) -> str | None:
    if not isinstance(value, str) or not 0 < len(value) <= longest:
        return None
    return printable_line(value)


def source_of(value: bytes | None) -> tuple[str | None, str | None, str | None]:
    """(lscb, source system, source reference) as sent, where the message holds them as text."""
    document = _readable(value)
    found = document.get("source")
    source: dict[str, Any] = found if isinstance(found, dict) else {}
    return _text(document.get("lscb"), 10), _text(source.get("system"), 200), _text(source.get("reference"), 200)


def register(
    broker: KafkaBroker,
    intake: IntakeApplication,
    *,
    topic_prefix: str = "",
    dead_letters: DeadLetterStore | None = None,
) -> None:
    receipts_topic = topic_prefix + topics.INCIDENT_RECEIPTS

    async def send_receipt(
        record: ConsumerRecord,
        status: ReceiptStatus,
        case_id: UUID | None,
        errors: list[dict[str, str]],
    ) -> None:
        lscb, system, reference = source_of(record.value)
        receipt = IncidentReceipt(
            status=status,
            case_id=case_id,
            lscb=lscb,
            source_system=system,
            errors=[
                ReceiptFieldError(field=printable_line(e["field"]), message=printable_line(e["message"]))
                for e in errors
            ],
            source_partition=record.partition,
            source_offset=record.offset,
            processed_at=datetime.now(UTC),
        )
        key = reference.encode() if reference is not None else record.key  # their own key, as they sent it
        await broker.publish(
            receipt.model_dump_json().encode(),
            topic=receipts_topic,
            key=key,
            headers={"lif-receipt-status": status},
        )

    async def readable(body: bytes, record: ConsumerRecord) -> Submission:
        """The message as a submission; refused with a receipt (and raised) when it is not a notification."""
        if record.value is None:
            await send_receipt(record, "invalid", None, NULL_VALUE.errors)
            raise NULL_VALUE
        try:
            notification = parse_notification(body)
        except InvalidMessage as failure:
            await send_receipt(record, "invalid", None, failure.errors)
            raise
        actor = Actor(kind="system", id=f"kafka:{notification.source.system}", role="integration")
        return Submission(notification, actor, "kafka")

    async def answer(record: ConsumerRecord, result: SubmitResult | Exception) -> None:
        """The receipt of a submitted message; raises what is to be dead-lettered (or retried)."""
        if isinstance(result, UnknownBoardError):
            errors = [{"field": "lscb", "message": str(result)}]
            await send_receipt(record, "invalid", None, errors)
            raise InvalidMessage(str(result), errors) from result
        if isinstance(result, Exception):
            raise result
        await send_receipt(record, RECEIPT_STATUS[result.status], result.case_id, [])
        if result.status == "conflict":
            raise InvalidMessage(
                f"conflict: source reference is already case {result.case_id} with different content",
                [{"field": "source.reference", "message": "already used with different content"}],
            )

    async def handle(body: bytes, record: ConsumerRecord) -> None:
        submission = await readable(body, record)
        await answer(record, (await asyncio.to_thread(intake.submit_many, [submission]))[0])

    async def handle_batch(items: Sequence[tuple[bytes, ConsumerRecord]]) -> list[InvalidMessage | None]:
        """What is waiting, the new cases in one transaction (`submit_many`), then each message's receipt."""
        outcomes: list[InvalidMessage | None] = [None] * len(items)
        readable_ones: list[tuple[int, ConsumerRecord, Submission]] = []
        for index, (body, record) in enumerate(items):
            try:
                readable_ones.append((index, record, await readable(body, record)))
            except InvalidMessage as failure:
                outcomes[index] = failure
        results = await asyncio.to_thread(intake.submit_many, [submission for *_, submission in readable_ones])
        for (index, record, _), result in zip(readable_ones, results, strict=True):
            try:
                await answer(record, result)
            except InvalidMessage as failure:
                outcomes[index] = failure
        return outcomes

    async def without_personal_data(record: ConsumerRecord, failure: InvalidMessage) -> DeadLetterContent:
        """The dead letter an operator acts on; the original goes to the dead-letter store."""
        if dead_letters is None:
            raise RuntimeError("intake's dead-letter store is not configured")
        original_id = await asyncio.to_thread(
            dead_letters.keep, record.topic, record.partition, record.offset, record.key, record.value, failure.reason
        )
        lscb, system, reference = source_of(record.value)
        size = None if record.value is None else len(record.value)
        headers = {"lif-dlq-original-id": str(original_id), "lif-dlq-original-size": str(size or 0)}
        if record.value is None:
            return DeadLetterContent(None, headers)
        summary = {
            "reason": failure.reason,
            "errors": failure.errors,
            "lscb": lscb,
            "source_system": system,
            "source_reference_hash": None
            if reference is None
            else keyed_hash(intake.pseudonym_key, lscb or "", system or "", reference),
            "original_size": size,
            "original_id": str(original_id),
        }
        return DeadLetterContent(json.dumps(summary).encode(), headers)

    subscribe(
        broker,
        [topic_prefix + topics.INCIDENTS],
        group_id=topic_prefix + GROUP_ID,
        parse=lambda body: body,
        handle=handle,
        handle_batch=handle_batch,
        title="intake: incident notifications",
        description="Integrators publish IncidentNotification JSON. Each message gets a receipt on "
        f"{topics.INCIDENT_RECEIPTS}; what cannot be accepted goes to the dead-letter topic without its text.",
        dead_letter_content=without_personal_data,
    )
