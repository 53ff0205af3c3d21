"""Threshold decisioning: answer each accepted incident with a recommendation under a rule pack, and keep
the pre-decision stages of each case's review from orchestration's events (services/decisioning/review_stages.py).

It also learns, from learning collation's events, which themes the region's sources of learning already
hold (closed reviews, forums, audits, legacy reviews): rule E2's register, written idempotently by source.

It records the position of every event it consumes in the same transaction as its own new events
(eventsourcing tracking records), and recognises an incident it already answered by the incident's
event id, so redelivery and republication are both no-ops.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.persistence import IntegrityError, Tracking

from events.decisioning import (
    PanelNoticeSent,
    PanelNoticeSentPayload,
    RecommendationRecorded,
    RecommendationRecordedPayload,
)
from events.envelope import Actor
from events.intake import IncidentReceived
from events.learning import SourceRecorded
from events.notification_delivery import NotificationDelivered
from lif.delivery.delivered import Delivered
from lif.delivery.tracking import TrackingApplication
from services.decisioning.assessment import assess_received
from services.decisioning.domain import ThresholdCase, panel_notice_sent_id
from services.decisioning.learning_register import LearningRegister
from services.decisioning.review_stages import REVIEW_EVENTS, ReviewStages, note_review_event

SERVICE_ACTOR = Actor(kind="service", id="decisioning", role=None)


class DecisioningApplication(TrackingApplication):
    name = "decisioning"

    def __init__(self, env: Mapping[str, str] | None = None, *, learning: LearningRegister | None = None) -> None:
        super().__init__(env=env)
        self.learning = learning

    def close(self) -> None:
        super().close()
        if self.learning is not None:
            self.learning.close()

    def handle(self, delivered: Delivered) -> bool:
        """Process one delivered event; returns False when it had already been processed (blocking)."""
        if self.process_recorder.has_tracking_id(delivered.position_key, delivered.position):
            return False
        processing: ProcessingEvent[UUID] = ProcessingEvent(Tracking(delivered.position_key, delivered.position))
        fresh = self.collect(delivered, processing, {})
        try:
            self._record(processing)
        except IntegrityError:
            return False  # another worker recorded this position or this case first
        return fresh

    def collect(self, delivered: Delivered, processing: ProcessingEvent[UUID], seen: dict[UUID, Any]) -> bool:
        """An incident not answered yet gets its recommendation (the case's first, or a new one); a review
        event of orchestration's updates the case's pre-decision stages (nothing to publish: False); a National
        Panel notice the notifications outbox delivered is recorded as sent (once, whoever sent it first)."""
        event = delivered.event
        if isinstance(event, SourceRecorded):
            if self.learning is None:
                raise RuntimeError("decisioning has no learning register to record a source of learning in")
            self.learning.record_source(event)  # keyed by source: a redelivery changes nothing
            return False
        if isinstance(event, REVIEW_EVENTS):
            notes_id = ReviewStages.id_for(event.case_id)
            notes = note_review_event(seen.get(notes_id) or self._review_stages(event.case_id), event)
            if notes is not None:
                processing.collect_events(notes)
                seen[notes_id] = notes
            return False
        if isinstance(event, NotificationDelivered):
            return self._notice_delivered(event, processing, seen)
        if not isinstance(event, IncidentReceived):
            return False
        aggregate_id = ThresholdCase.id_for(event.case_id)
        case = seen.get(aggregate_id) or self.get_case(event.case_id)
        if case is not None and case.has_answered(event.event_id):
            return False
        envelope = self._recommendation_envelope(event)
        if case is None:
            case = ThresholdCase(case_id=event.case_id, envelope=envelope)
            case.note_incident(event.model_dump(mode="json"))
        else:
            case.recommend(envelope)
        processing.collect_events(case)
        seen[aggregate_id] = case
        return True

    def _notice_delivered(
        self, event: NotificationDelivered, processing: ProcessingEvent[UUID], seen: dict[UUID, Any]
    ) -> bool:
        notice_id = event.payload.panel_notice_id
        if notice_id is None:
            return False
        aggregate_id = ThresholdCase.id_for(event.case_id)
        case = seen.get(aggregate_id) or self.get_case(event.case_id)
        if case is None or case.notice(notice_id) is None or case.sent(notice_id) is not None:
            return False  # not a notice of ours, or already marked sent (by hand or by an earlier delivery)
        now = datetime.now(UTC)
        payload = PanelNoticeSentPayload(
            notice_id=notice_id, sent_on=event.payload.delivered_on, channel="email", delivery_event_id=event.event_id
        )
        case.record(
            PanelNoticeSent(
                event_id=panel_notice_sent_id(notice_id),
                lscb=case.lscb,
                case_id=case.case_id,
                occurred_at=event.occurred_at,
                recorded_at=now,
                correlation_id=case.recommendation["correlation_id"],
                causation_id=event.event_id,
                actor=SERVICE_ACTOR,
                payload=payload,
            ).model_dump(mode="json")
        )
        processing.collect_events(case)
        seen[aggregate_id] = case
        return True

    def get_case(self, case_id: UUID) -> ThresholdCase | None:
        """The case's recommendations so far, or None before its first."""
        try:
            return self.repository.get(ThresholdCase.id_for(case_id))  # type: ignore[return-value]
        except AggregateNotFoundError:
            return None

    def _review_stages(self, case_id: UUID) -> ReviewStages | None:
        try:
            return self.repository.get(ReviewStages.id_for(case_id))  # type: ignore[return-value]
        except AggregateNotFoundError:
            return None

    def open_pre_decision_stages(self, case_id: UUID) -> list[dict[str, str | None]]:
        """The case's stages 1-3 not yet held, as far as orchestration's events have come (a decision's answer)."""
        notes = self._review_stages(case_id)
        return [] if notes is None else notes.open_pre_decision_stages()

    @staticmethod
    def _recommendation_envelope(incident: IncidentReceived) -> dict[str, object]:
        now = datetime.now(UTC)
        recommendation = assess_received(incident)
        return RecommendationRecorded(
            event_id=uuid4(),
            lscb=incident.lscb,
            case_id=incident.case_id,
            occurred_at=now,
            recorded_at=now,
            correlation_id=incident.correlation_id,
            causation_id=incident.event_id,
            actor=SERVICE_ACTOR,
            payload=RecommendationRecordedPayload(
                incident_event_id=incident.event_id,
                facts=incident.payload.facts,
                recommendation=recommendation,
            ),
        ).model_dump(mode="json")
