"""The decisioning aggregate: one per case, holding its recommendations (and, later, the Chair's decisions)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

THRESHOLD_NAMESPACE = UUID("0f3c2b1a-6d5e-4f70-8a9b-1c2d3e4f5a6b")


class ThresholdCase(Aggregate):
    """Recommendations for one case; each stored event carries its public envelope."""

    @staticmethod
    def create_id(case_id: UUID, envelope: dict[str, Any]) -> UUID:
        return ThresholdCase.id_for(case_id)

    @staticmethod
    def id_for(case_id: UUID) -> UUID:
        return uuid5(THRESHOLD_NAMESPACE, str(case_id))

    @event("Opened")
    def __init__(self, case_id: UUID, envelope: dict[str, Any]) -> None:
        self.case_id = case_id
        self.lscb: str = envelope["lscb"]
        self.answered: list[str] = [envelope["causation_id"]]
        self.recommendations: list[dict[str, Any]] = [envelope]

    @event("Recommended")
    def recommend(self, envelope: dict[str, Any]) -> None:
        """A further recommendation (a re-assessment); the earlier ones stay in the history."""
        self.answered.append(envelope["causation_id"])
        self.recommendations.append(envelope)

    def has_answered(self, incident_event_id: UUID) -> bool:
        return str(incident_event_id) in self.answered
