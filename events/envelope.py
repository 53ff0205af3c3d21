"""The one envelope every LIF event travels in.

Every event carries the tenant (`lscb`), the case, both clocks (business time `occurred_at`, record time
`recorded_at`), correlation/causation ids and the actor, so that an auditor can answer "who, when, why"
from any single event without joining anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from events.fields import Line

LSCB_PATTERN = r"^[A-Z]{3}$"


class Actor(BaseModel):
    """Who caused the event: a named person, an integrating system or LIF itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["person", "system", "service"]
    id: Line = Field(min_length=1, max_length=200, description="Token name or service name, never a child")
    role: Line | None = Field(default=None, description="The role the actor acted in (rules.md section 3)")


class EventEnvelope(BaseModel):
    """Fields shared by every event; concrete events add `event_type`, `schema_version` and `payload`."""

    # Exported schemas describe the wire form, where `event_type` and `schema_version` are always present.
    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_serialization_defaults_required=True)

    event_id: UUID = Field(description="Stable id: the same event republished keeps it")
    event_type: str
    schema_version: int
    lscb: str = Field(pattern=LSCB_PATTERN, description="The board (tenant) that owns the case")
    case_id: UUID
    occurred_at: datetime = Field(description="Business time: when it happened")
    recorded_at: datetime = Field(description="Record time: when LIF learnt it")
    correlation_id: UUID = Field(description="Shared by every event caused by one incident notification")
    causation_id: UUID | None = Field(default=None, description="The event that caused this one")
    actor: Actor
