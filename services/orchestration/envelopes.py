"""Building orchestration events in the shared envelope: the case's board, ids and both clocks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel

from events.envelope import Actor, EventEnvelope
from lif.clock import LONDON

SERVICE_ACTOR = Actor(kind="service", id="orchestration", role=None)

E = TypeVar("E", bound=EventEnvelope)


@dataclass(frozen=True)
class CaseRef:
    """What every event of a case repeats: the board, the case and the correlation id of its incident."""

    lscb: str
    case_id: UUID
    correlation_id: UUID

    @classmethod
    def of(cls, event: EventEnvelope) -> CaseRef:
        return cls(event.lscb, event.case_id, event.correlation_id)


def business_time(day: date) -> datetime:
    """A business date as the start of that day in Europe/London (the envelope's `occurred_at`)."""
    return datetime.combine(day, time(0), LONDON).astimezone(UTC)


def london_date(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def new_event(
    model: type[E],
    case: CaseRef,
    payload: BaseModel,
    *,
    actor: Actor = SERVICE_ACTOR,
    on: date | None = None,
    causation_id: UUID | None = None,
) -> E:
    """A new event of `model`; `on` is the business date (today's moment when None)."""
    now = datetime.now(UTC)
    return model(  # type: ignore[call-arg]  # every concrete event has a payload
        event_id=uuid4(),
        lscb=case.lscb,
        case_id=case.case_id,
        occurred_at=now if on is None else business_time(on),
        recorded_at=now,
        correlation_id=case.correlation_id,
        causation_id=causation_id,
        actor=actor,
        payload=payload,
    )


def wire(event: EventEnvelope) -> dict[str, Any]:
    """The JSON-ready envelope an aggregate stores (the same document the relay publishes)."""
    return event.model_dump(mode="json")
