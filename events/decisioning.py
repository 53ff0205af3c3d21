"""Events of the threshold decisioning service (topic `lif.decisioning.v1`)."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from events.envelope import EventEnvelope
from events.incidents import IncidentFacts

ReviewType = Literal[
    "serious_case_review",
    "multi_agency_concise_review",
    "individual_agency_review",
    "multi_professional_forum",
    "embedding_review",
    "no_review",
    "rapid_review",
]
MethodologyHint = Literal["intensive", "targeted"]


class Recommendation(BaseModel):
    """What the rule pack recommends, and why; the same object `lif assess` prints."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    review_type: ReviewType
    statutory_scr: bool
    methodology_hint: MethodologyHint | None
    rules_fired: list[str] = Field(description="Every rule id whose condition held, in rules.md order")
    rule_pack: str
    rule_pack_version: str
    reasons: list[str] = Field(description="Plain sentences explaining the recommendation")
    deadlines: dict[str, date] = Field(description="Deadline name to ISO date")


class RecommendationRecordedPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    incident_event_id: UUID = Field(description="The intake event this recommendation answers")
    facts: IncidentFacts = Field(description="The facts the rule pack saw")
    recommendation: Recommendation


class RecommendationRecorded(EventEnvelope):
    """The threshold recommendation for a case was recorded."""

    event_type: Literal["decisioning.recommendation_recorded"] = "decisioning.recommendation_recorded"
    schema_version: Literal[1] = 1
    payload: RecommendationRecordedPayload
