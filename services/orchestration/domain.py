"""The orchestration aggregates.

`ReviewProcess`: one per case under review (id: uuid5 of the case id); each stored event carries its public
envelope, so the service's log is its outbox. `CaseWatch`: what orchestration has seen of a case from
decisioning (the upstream event ids handled, the latest recommendation); its events carry no envelope, so
they are never published.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from events.orchestration import ReviewProcessOpened
from events.registry import parse_event
from services.orchestration.state import ReviewState

REVIEW_NAMESPACE = UUID("6b1d3c5e-2f4a-4e8b-9c7d-0a1b2c3d4e5f")
WATCH_NAMESPACE = UUID("9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4")


def review_id_for(case_id: UUID) -> UUID:
    """The review process id of a case (stable, so every service can compute it)."""
    return uuid5(REVIEW_NAMESPACE, str(case_id))


class ReviewProcess(Aggregate):
    """A case's review process; its state is folded from the contract events it records."""

    @staticmethod
    def create_id(envelope: dict[str, Any]) -> UUID:
        return review_id_for(UUID(envelope["case_id"]))

    @event("Opened")
    def __init__(self, envelope: dict[str, Any]) -> None:
        opened = parse_event(envelope)
        assert isinstance(opened, ReviewProcessOpened)
        self.state = ReviewState.opened(opened)

    @event("Recorded")
    def record(self, envelope: dict[str, Any]) -> None:
        """Record one contract event (already checked by the command or reaction that built it)."""
        self.state.apply(parse_event(envelope))

    @event("RequestNoted")
    def note_request(self, event_id: str, request_hash: str) -> None:
        """The hash of the request whose Idempotency-Key names `event_id`, noted just before that event
        (internal: it carries no envelope, so it is never published)."""
        self.state.requests[UUID(event_id)] = request_hash


class CaseWatch(Aggregate):
    """Upstream events handled for a case, so a republished event (same id, new position) is a no-op."""

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return CaseWatch.id_for(case_id)

    @staticmethod
    def id_for(case_id: UUID) -> UUID:
        return uuid5(WATCH_NAMESPACE, str(case_id))

    @event("Started")
    def __init__(self, case_id: UUID) -> None:
        self.case_id = case_id
        self.seen: set[str] = set()
        self.rule_pack: str | None = None
        self.deadlines: dict[str, str] = {}

    @event("Seen")
    def see(self, event_id: str, rule_pack: str | None, deadlines: dict[str, str] | None) -> None:
        """An upstream event was handled; a recommendation also leaves its pack and deadlines."""
        self.seen.add(event_id)
        if rule_pack is not None:
            self.rule_pack = rule_pack
            self.deadlines = dict(deadlines or {})

    def has_seen(self, event_id: UUID) -> bool:
        return str(event_id) in self.seen

    def recommendation_deadlines(self) -> dict[str, date]:
        return {name: date.fromisoformat(value) for name, value in self.deadlines.items()}
