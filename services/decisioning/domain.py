"""The decisioning aggregate: one per case, holding its recommendations and the board's decisions.

Every stored event that is part of the public contract carries its envelope (the relay publishes it as
is). `IncidentNoted` is internal: it keeps the facts of the incident the case answers, so that the case
can be re-assessed (rule E2) and its National Panel notice written without asking intake.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

THRESHOLD_NAMESPACE = UUID("0f3c2b1a-6d5e-4f70-8a9b-1c2d3e4f5a6b")
COMMAND_NAMESPACE = UUID("5b0e7a4c-2f61-4d8e-9c3a-7e1f0b2d6a59")
"""Of the ids of events the board's commands record (and of a notice's `panel_notice_sent`)."""


def panel_notice_sent_id(notice_id: UUID) -> UUID:
    """The one `panel_notice_sent` a notice can have, marked by hand or recorded from its delivery."""
    return uuid5(COMMAND_NAMESPACE, f"sent:{notice_id}")


class ThresholdCase(Aggregate):
    """Recommendations and decisions for one case, in the order they were recorded."""

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
        self.history: list[dict[str, Any]] = [envelope]
        self.incident: dict[str, Any] | None = None

    @event("Recommended")
    def recommend(self, envelope: dict[str, Any]) -> None:
        """A further recommendation (a re-assessment); the earlier ones stay in the history."""
        self.answered.append(envelope["causation_id"])
        self.recommendations.append(envelope)
        self.history.append(envelope)

    @event("IncidentNoted")
    def note_incident(self, incident: dict[str, Any]) -> None:
        """The answered IncidentReceived event (pseudonymous: no free text, only the summary's id)."""
        self.incident = incident

    @event("Recorded")
    def record(self, envelope: dict[str, Any]) -> None:
        """A referral, discretionary input, decision, appointment, notice or tagging (a contract event)."""
        self.history.append(envelope)

    @event("RequestNoted")
    def note_request(self, event_id: str, request_hash: str) -> None:
        """The hash of the command that recorded `event_id` under an idempotency key (internal, not published)."""
        hashes: dict[str, str] = self.__dict__.setdefault("request_hashes", {})
        hashes[event_id] = request_hash

    def request_hash(self, event_id: UUID) -> str | None:
        """The hash noted for a keyed command's event; None for events recorded without one."""
        hashes: dict[str, str] = self.__dict__.get("request_hashes", {})
        return hashes.get(str(event_id))

    def has_answered(self, incident_event_id: UUID) -> bool:
        return str(incident_event_id) in self.answered

    # --- what the history says (derived, so replaying the events is all the state there is) ----------

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.history if e["event_type"] == event_type]

    def find(self, event_id: UUID) -> dict[str, Any] | None:
        return next((e for e in self.history if e["event_id"] == str(event_id)), None)

    @property
    def recommendation(self) -> dict[str, Any]:
        """The latest recommendation envelope."""
        return self.recommendations[-1]

    @property
    def decision(self) -> dict[str, Any] | None:
        """The Chair's current decision (the latest; earlier ones were superseded by it)."""
        decisions = self.of_type("decisioning.chair_decision_recorded")
        return decisions[-1] if decisions else None

    @property
    def referred(self) -> bool:
        return bool(self.of_type("decisioning.scr_panel_referral_recorded"))

    @property
    def statutory_scr(self) -> bool:
        return any(r["payload"]["recommendation"]["statutory_scr"] for r in self.recommendations)

    @property
    def considered_for_scr(self) -> bool:
        """Rules.md section 1 C: the statutory test held, or the board referred the case to its SCR panel."""
        return self.statutory_scr or self.referred

    def appointments_for(self, decision_event_id: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.of_type("decisioning.lead_reviewer_appointed")
            if e["payload"]["decision_event_id"] == decision_event_id
        ]

    def notice_for(self, decision_event_id: str) -> dict[str, Any] | None:
        return next(
            (
                e
                for e in self.of_type("decisioning.panel_notice_prepared")
                if e["payload"]["decision_event_id"] == decision_event_id
            ),
            None,
        )

    def notice(self, notice_id: UUID) -> dict[str, Any] | None:
        return next(
            (
                e
                for e in self.of_type("decisioning.panel_notice_prepared")
                if e["payload"]["notice_id"] == str(notice_id)
            ),
            None,
        )

    def sent(self, notice_id: UUID) -> dict[str, Any] | None:
        return next(
            (e for e in self.of_type("decisioning.panel_notice_sent") if e["payload"]["notice_id"] == str(notice_id)),
            None,
        )
