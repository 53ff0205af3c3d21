"""The notifications aggregate: one per case, holding every obligation of the case and its timers.

Each stored event that is part of the contract carries its public envelope, so the service's log is its
outbox (relayed to `lif.notifications.v1`). `Seen` is internal: the upstream event ids handled (a
republished event is a no-op) and the facts they gave that are not obligations (which decision a notice is
for, the review's members); it carries no envelope, so it is never published.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from events.registry import parse_event
from services.notifications.state import CaseState

CASE_NAMESPACE = UUID("e2d4f6a8-1b3c-4d5e-8f70-9a1b2c3d4e5f")


def case_obligations_id(case_id: UUID) -> UUID:
    return uuid5(CASE_NAMESPACE, str(case_id))


class CaseObligations(Aggregate):
    @staticmethod
    def create_id(case_id: UUID, lscb: str, correlation_id: UUID) -> UUID:
        return case_obligations_id(case_id)

    @event("Started")
    def __init__(self, case_id: UUID, lscb: str, correlation_id: UUID) -> None:
        self.case_id = case_id
        self.seen: set[str] = set()
        self.state = CaseState(case_id, lscb, correlation_id)

    @event("Seen")
    def see(self, event_id: str, facts: dict[str, Any]) -> None:
        self.seen.add(event_id)
        self.state.note(facts)

    @event("Recorded")
    def record(self, envelope: dict[str, Any]) -> None:
        """Record one contract event (built by the reactions or the timers)."""
        self.state.apply(parse_event(envelope))

    def has_seen(self, event_id: UUID) -> bool:
        return str(event_id) in self.seen
