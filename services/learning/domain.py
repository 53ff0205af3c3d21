"""The learning aggregates: one per source of learning, one per tracked recommendation.

Each stored event carries its public envelope, so the service's log is its outbox. Ids are derived from
what identifies the thing (the case of a closed review, the board's reference of a forum or audit, the
source and position of a recommendation), so a redelivered event or a repeated command finds what it
recorded before instead of recording it twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from events.decisioning import DocumentRef
from events.learning import (
    ActionDueSet,
    ActionStatusChanged,
    ImpactEvidenced,
    ReauditScheduled,
    RecommendationTracked,
    SourceRecorded,
)
from events.registry import parse_event

NAMESPACE = uuid5(NAMESPACE_URL, "https://lif.example/learning")


def review_source_id(case_id: UUID) -> UUID:
    """The learning source of a LIF review (one per case: a closed review is collated once)."""
    return uuid5(NAMESPACE, f"review:{case_id}")


def board_source_id(lscb: str, kind: str, reference: str) -> UUID:
    """A forum, audit or legacy review, identified by the board's own reference for it."""
    return uuid5(NAMESPACE, f"{kind}:{lscb}:{reference}")


def recommendation_id_for(source_id: UUID, scope: str, index: int) -> UUID:
    return uuid5(source_id, f"{scope}:{index}")


class LearningSource(Aggregate):
    """A source of learning, recorded once; `request_hash` tells a repeated command from a different one."""

    @staticmethod
    def create_id(envelope: dict[str, Any], request_hash: str | None) -> UUID:
        return UUID(envelope["payload"]["source_id"])

    @event("Recorded")
    def __init__(self, envelope: dict[str, Any], request_hash: str | None) -> None:
        recorded = parse_event(envelope)
        assert isinstance(recorded, SourceRecorded)
        self.envelope = envelope
        self.request_hash = request_hash

    @property
    def recorded(self) -> SourceRecorded:
        event_ = parse_event(self.envelope)
        assert isinstance(event_, SourceRecorded)
        return event_


@dataclass
class ActionState:
    action_id: UUID
    owning_agency: str
    due: date
    description: DocumentRef
    status: str = "open"


@dataclass
class RecommendationState:
    tracked: RecommendationTracked
    actions: dict[UUID, ActionState] = field(default_factory=dict)
    evidence: list[ImpactEvidenced] = field(default_factory=list)
    reaudits: dict[UUID, date] = field(default_factory=dict)
    keys: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    """Idempotency keys of commands: key -> (request hash, the event recorded)."""

    def apply(self, envelope: dict[str, Any]) -> None:
        e = parse_event(envelope)
        if isinstance(e, ActionDueSet):
            p = e.payload
            current = self.actions.get(p.action_id)
            status = current.status if current else "open"
            self.actions[p.action_id] = ActionState(p.action_id, p.owning_agency, p.due, p.description, status)
        elif isinstance(e, ActionStatusChanged):
            self.actions[e.payload.action_id].status = e.payload.status
        elif isinstance(e, ImpactEvidenced):
            self.evidence.append(e)
            if e.payload.reaudit_id is not None:
                self.reaudits.pop(e.payload.reaudit_id, None)
        elif isinstance(e, ReauditScheduled):
            self.reaudits[e.payload.reaudit_id] = e.payload.due


class CaseThemes(Aggregate):
    """The themes decisioning last tagged a case with (rule E2), seen by event id; never published (its
    events carry no envelope). A review's learning source keeps them beside the summary's own themes."""

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return CaseThemes.id_for(case_id)

    @staticmethod
    def id_for(case_id: UUID) -> UUID:
        return uuid5(NAMESPACE, f"case-themes:{case_id}")

    @event("Started")
    def __init__(self, case_id: UUID) -> None:
        self.case_id = case_id
        self.seen: set[str] = set()
        self.themes: list[dict[str, str]] = []

    @event("Tagged")
    def tag(self, event_id: str, themes: list[dict[str, str]]) -> None:
        self.seen.add(event_id)
        self.themes = themes


class TrackedRecommendation(Aggregate):
    """A key recommendation with its actions, impact evidence and re-audit dates."""

    @staticmethod
    def create_id(envelope: dict[str, Any]) -> UUID:
        return UUID(envelope["payload"]["recommendation_id"])

    @event("Tracked")
    def __init__(self, envelope: dict[str, Any]) -> None:
        tracked = parse_event(envelope)
        assert isinstance(tracked, RecommendationTracked)
        self.state = RecommendationState(tracked)

    @event("Recorded")
    def record(self, envelope: dict[str, Any], key: str | None = None, request_hash: str | None = None) -> None:
        self.state.apply(envelope)
        if key is not None and request_hash is not None:
            self.state.keys[key] = (request_hash, envelope)
