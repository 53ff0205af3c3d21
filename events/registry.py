"""Find the model for a wire event by (type, version), upcasting old versions first.

Published schemas never change in place: a new version gets a new model and an upcaster from the old
one, so a consumer reading the whole history (a rebuild, an audit) always sees the newest shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from events.decisioning import (
    ChairDecisionRecorded,
    DiscretionaryInputRecorded,
    LeadReviewerAppointed,
    LearningThemesTagged,
    PanelNoticePrepared,
    PanelNoticeSent,
    PanelNotificationRecorded,
    RapidReviewHeld,
    RecommendationRecorded,
    ScrPanelReferralRecorded,
)
from events.envelope import EventEnvelope
from events.intake import IncidentReceived
from events.learning import LEARNING_EVENTS
from events.notification_delivery import NOTIFICATION_DELIVERY_EVENTS
from events.notifications import NOTIFICATIONS_EVENTS, obligation_cancelled_v1_to_v2
from events.orchestration import ORCHESTRATION_EVENTS

EVENT_MODELS: dict[tuple[str, int], type[EventEnvelope]] = {
    ("intake.incident_received", 1): IncidentReceived,
    ("decisioning.recommendation_recorded", 1): RecommendationRecorded,
    ("decisioning.chair_decision_recorded", 1): ChairDecisionRecorded,
    ("decisioning.scr_panel_referral_recorded", 1): ScrPanelReferralRecorded,
    ("decisioning.discretionary_input_recorded", 1): DiscretionaryInputRecorded,
    ("decisioning.lead_reviewer_appointed", 1): LeadReviewerAppointed,
    ("decisioning.panel_notice_prepared", 1): PanelNoticePrepared,
    ("decisioning.panel_notice_sent", 1): PanelNoticeSent,
    ("decisioning.learning_themes_tagged", 1): LearningThemesTagged,
    ("decisioning.panel_notification_recorded", 1): PanelNotificationRecorded,
    ("decisioning.rapid_review_held", 1): RapidReviewHeld,
}
# Review orchestration (topic lif.orchestration.v1): every event is at version 1.
EVENT_MODELS.update({(model.model_fields["event_type"].default, 1): model for model in ORCHESTRATION_EVENTS})
# Notifications (topic lif.notifications.v1): obligations and their timers, each at its newest version
# (`obligation_cancelled` at 2: version 1 is upcast below).
EVENT_MODELS.update(
    {
        (model.model_fields["event_type"].default, model.model_fields["schema_version"].default): model
        for model in NOTIFICATIONS_EVENTS
    }
)
# The notifications outbox (topic lif.notifications.v1): each message and its delivery, at version 1.
EVENT_MODELS.update({(model.model_fields["event_type"].default, 1): model for model in NOTIFICATION_DELIVERY_EVENTS})
# Learning collation (topic lif.learning.v1): every event is at version 1.
EVENT_MODELS.update({(model.model_fields["event_type"].default, 1): model for model in LEARNING_EVENTS})

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
# (event_type, from_version) -> function returning the document at from_version + 1.
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("notifications.obligation_cancelled", 1): obligation_cancelled_v1_to_v2,
}


class UnknownEventError(ValueError):
    """The document names an event type or version this contract does not define."""


def upcast(document: dict[str, Any]) -> dict[str, Any]:
    """Apply upcasters until no newer version exists."""
    while (key := (document.get("event_type"), document.get("schema_version"))) in UPCASTERS:
        document = UPCASTERS[key](document)  # type: ignore[index]
    return document


def parse_event(data: bytes | str | dict[str, Any]) -> EventEnvelope:
    """Parse one event from JSON (or an already decoded dict) into its model."""
    document = json.loads(data) if isinstance(data, bytes | str) else dict(data)
    document = upcast(document)
    key = (document.get("event_type"), document.get("schema_version"))
    model = EVENT_MODELS.get(key)  # type: ignore[arg-type]
    if model is None:
        raise UnknownEventError(f"unknown event {key[0]!r} version {key[1]!r}")
    return model.model_validate(document)


def to_json(event: EventEnvelope) -> bytes:
    """The wire form of an event."""
    return event.model_dump_json().encode()
