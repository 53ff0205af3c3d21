"""What decisioning keeps of orchestration's events: each case's pre-decision stages (1-3) not yet held.

A Chair's decision answers with the stages it leaves open (`open_stages`). Orchestration owns the review
and publishes every change to it; decisioning follows that topic and keeps, per case, only the stages of
the pre-decision plan and whether each was held or dropped. The notes are an internal aggregate (no
envelope: never relayed), written with the tracking position of the event they fold, so the answer comes
from decisioning's own store, the same way in both runtimes, and needs orchestration only as a publisher.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from events.envelope import EventEnvelope
from events.orchestration import (
    ReviewClosed,
    ReviewNotInitiated,
    ReviewPlanStarted,
    ReviewProcessOpened,
    StageHeld,
)

REVIEW_STAGES_NAMESPACE = UUID("6f1c7e52-3b0d-4f51-9a1e-2f7a8f0d5c31")
REVIEW_EVENTS = (ReviewProcessOpened, ReviewPlanStarted, ReviewNotInitiated, StageHeld, ReviewClosed)
"""The orchestration events that change which pre-decision stages are open; the others change nothing here."""


class ReviewStages(Aggregate):
    """A case's review as far as its pre-decision stages go, folded from orchestration's events.

    The fold is orchestration's own (services/orchestration/state.py) restricted to what the answer needs:
    a stage is open while the review is open, it belongs to the pre-decision plan (a stage a later plan
    shares moves to that plan), and it was neither held nor dropped.
    """

    @staticmethod
    def id_for(case_id: UUID) -> UUID:
        return uuid5(REVIEW_STAGES_NAMESPACE, str(case_id))

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return ReviewStages.id_for(case_id)

    @event("Started")
    def __init__(self, case_id: UUID) -> None:
        self.case_id = case_id
        self.seen: set[str] = set()
        self.is_open = False
        self.pre_decision_plan_id = ""
        self.stages: dict[str, dict[str, Any]] = {}

    @event("Noted")
    def note(self, event_id: str, event_type: str, payload: dict[str, Any]) -> None:
        """An orchestration event (its type and JSON payload) folded into the notes."""
        self.seen.add(event_id)
        if event_type == ReviewProcessOpened.model_fields["event_type"].default:
            self.is_open = True
        elif event_type == ReviewPlanStarted.model_fields["event_type"].default:
            self._drop(payload["dropped_stages"])
            for planned in payload["stages"]:
                stage = self.stages.setdefault(planned["stage_id"], {"held": False})
                stage.update(name=planned["name"], due=planned["due"], plan_id=payload["plan_id"], dropped=False)
            if payload["phase"] == "pre_decision":
                self.pre_decision_plan_id = payload["plan_id"]
            self.is_open = True
        elif event_type == ReviewNotInitiated.model_fields["event_type"].default:
            self._drop(payload["dropped_stages"])
            self.is_open = False
        elif event_type == StageHeld.model_fields["event_type"].default:
            if payload["stage_id"] in self.stages:
                self.stages[payload["stage_id"]]["held"] = True
        elif event_type == ReviewClosed.model_fields["event_type"].default:
            self.is_open = False

    def _drop(self, stage_ids: list[str]) -> None:
        for stage_id in stage_ids:
            if stage_id in self.stages:
                self.stages[stage_id]["dropped"] = True

    def has_seen(self, event_id: UUID) -> bool:
        return str(event_id) in self.seen

    def open_pre_decision_stages(self) -> list[dict[str, str | None]]:
        """Stages 1-3 not yet held, in plan order: `stage_id`, `name`, `due` (ISO date or None)."""
        if not self.is_open or not self.pre_decision_plan_id:
            return []
        return [
            {"stage_id": stage_id, "name": stage["name"], "due": stage["due"]}
            for stage_id, stage in self.stages.items()
            if stage["plan_id"] == self.pre_decision_plan_id and not stage["dropped"] and not stage["held"]
        ]


def note_review_event(notes: ReviewStages | None, event: EventEnvelope) -> ReviewStages | None:
    """`notes` with `event` folded in (created for a case's first), or None when it changes nothing."""
    if not isinstance(event, REVIEW_EVENTS):
        return None
    if notes is not None and notes.has_seen(event.event_id):
        return None
    notes = notes or ReviewStages(event.case_id)
    dumped = event.model_dump(mode="json")
    notes.note(str(event.event_id), event.event_type, dumped["payload"])
    return notes
