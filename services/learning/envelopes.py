"""Building learning events in the shared envelope."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel

from events.envelope import Actor, EventEnvelope
from lif.clock import LONDON

SERVICE_ACTOR = Actor(kind="service", id="learning", role=None)
E = TypeVar("E", bound=EventEnvelope)


def business_time(day: date) -> datetime:
    return datetime.combine(day, time(0), LONDON).astimezone(UTC)


def new_event(
    model: type[E],
    *,
    lscb: str,
    case_id: UUID,
    correlation_id: UUID,
    payload: BaseModel,
    on: date,
    actor: Actor = SERVICE_ACTOR,
    causation_id: UUID | None = None,
    event_id: UUID | None = None,
) -> E:
    """`case_id` is the case of a LIF review; a forum's or audit's own source id (it has no case)."""
    return model(  # type: ignore[call-arg]
        event_id=event_id or uuid4(),
        lscb=lscb,
        case_id=case_id,
        occurred_at=business_time(on),
        recorded_at=datetime.now(UTC),
        correlation_id=correlation_id,
        causation_id=causation_id,
        actor=actor,
        payload=payload,
    )


def wire(event: EventEnvelope) -> dict[str, Any]:
    return event.model_dump(mode="json")
