"""The intake aggregate: one case per incident notification, identified by its source."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

CASE_NAMESPACE = UUID("5b0c1f7e-8a57-4c4e-9a7e-3f1d2b6c9e10")


def case_id_for(source_hash: str) -> UUID:
    """The case id is derived from the keyed source hash, so a resubmission finds the same case."""
    return uuid5(CASE_NAMESPACE, source_hash)


class IncidentCase(Aggregate):
    """A case opened by an incident notification; events carry their public envelope."""

    @staticmethod
    def create_id(envelope: dict[str, Any]) -> UUID:
        return UUID(envelope["case_id"])

    @event("IncidentReceived")
    def __init__(self, envelope: dict[str, Any]) -> None:
        self.lscb: str = envelope["lscb"]
        self.content_hash: str = envelope["payload"]["content_hash"]
        self.received_event_id: str = envelope["event_id"]
