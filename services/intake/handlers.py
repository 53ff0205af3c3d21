"""Kafka adapter of referral intake: incident notifications on `lif.incidents.v1`."""

from __future__ import annotations

import asyncio

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from pydantic import ValidationError

from events import topics
from events.envelope import Actor
from events.incidents import IncidentNotification
from lif.delivery.kafka import InvalidMessage, subscribe
from lif.validation import validation_field_errors
from services.intake.application import IntakeApplication, UnknownBoardError

GROUP_ID = "lif-intake"


def parse_notification(body: bytes) -> IncidentNotification:
    try:
        return IncidentNotification.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidMessage("invalid incident notification", validation_field_errors(exc)) from exc


def register(broker: KafkaBroker, intake: IntakeApplication, *, topic_prefix: str = "") -> None:
    async def handle(notification: IncidentNotification, record: ConsumerRecord) -> None:
        actor = Actor(kind="system", id=f"kafka:{notification.source.system}", role="integration")
        try:
            result = await asyncio.to_thread(intake.submit, notification, actor, "kafka")
        except UnknownBoardError as exc:
            raise InvalidMessage(str(exc), [{"field": "lscb", "message": str(exc)}]) from exc
        if result.status == "conflict":
            raise InvalidMessage(
                f"conflict: source reference is already case {result.case_id} with different content",
                [{"field": "source.reference", "message": "already used with different content"}],
            )

    subscribe(
        broker,
        [topic_prefix + topics.INCIDENTS],
        group_id=topic_prefix + GROUP_ID,
        parse=parse_notification,
        handle=handle,
        title="intake: incident notifications",
        description="Integrators publish IncidentNotification JSON; invalid ones go to the dead-letter topic.",
    )
