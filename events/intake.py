"""Events of the referral intake service (topic `lif.intake.v1`)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from events.envelope import LSCB_PATTERN, EventEnvelope
from events.fields import Date, Line
from events.incidents import IncidentFacts, NotifyingAgency


class ChildRef(BaseModel):
    """The child as the log may hold it: a pseudonymous subject id, an age and a home board."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject_ref: Line
    age_years: int
    normally_resident_lscb: str = Field(pattern=LSCB_PATTERN)


class IncidentReceivedPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source_system: Line
    source_reference_hash: Line = Field(description="Keyed hash of source.reference (never the reference)")
    notifying_agency: NotifyingAgency
    child: ChildRef
    incident_date: Date
    notified_date: Date
    summary_ref: UUID = Field(description="Id of the summary in the board's erasable store")
    facts: IncidentFacts
    content_hash: Line = Field(description="Keyed hash of the whole notification, to tell resubmissions apart")
    channel: Literal["http", "kafka"]


class IncidentReceived(EventEnvelope):
    """An incident notification was accepted and a case opened."""

    event_type: Literal["intake.incident_received"] = "intake.incident_received"
    schema_version: Literal[1] = 1
    payload: IncidentReceivedPayload
