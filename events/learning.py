"""Events of the learning collation service (topic `lif.learning.v1`).

Every source of learning (a closed review's Learning Summary, a practitioner forum, a multi-case audit, a
review that closed before LIF) is recorded once as a `SourceRecorded`; its key recommendations become
tracked recommendations with actions, impact evidence and re-audit dates. Free text (the learning, the
recommendations, the findings) never enters these events: it is in the service's erasable store and
referenced by `DocumentRef`. Dates that become obligations (an action's due date, a re-audit) are carried
as dates, so the notifications service can remind and escalate them without reading any text.
"""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from events.decisioning import DocumentRef
from events.envelope import EventEnvelope
from events.fields import Line
from events.incidents import NotifyingAgency

SourceKind = Literal["review", "forum", "audit", "legacy_review"]
ReviewType = Literal["scr", "macr", "iar"]
Scope = Literal["single_agency", "multi_agency"]
ActionStatus = Literal["open", "in_progress", "done", "cancelled"]
ImpactResult = Literal["evidenced", "partly_evidenced", "not_evidenced"]
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ThemeTag(_Model):
    """One theme of a versioned typology (lif/config/typologies/<typology>/<version>.json)."""

    typology: Line = Field(min_length=1, max_length=100)
    version: Line = Field(min_length=1, max_length=20)
    code: Line = Field(min_length=1, max_length=100)


class SourceRecordedPayload(_Model):
    source_id: UUID
    source_kind: SourceKind
    reference: Line = Field(
        min_length=1, max_length=60, description="The review reference code, or the board's own for a forum or audit"
    )
    review_type: ReviewType | None = Field(description="The kind of review; None for a forum or an audit")
    on: date = Field(description="Closed (review), held (forum), completed (audit)")
    incident_month: str | None = Field(pattern=MONTH_PATTERN, description="A review's incident month, YYYY-MM")
    themes: list[ThemeTag] = Field(min_length=1, description="The themes as tagged")
    mapped_themes: list[ThemeTag] = Field(description="The same learning in other typologies, through the crosswalks")
    learning: DocumentRef | None = Field(
        description="The Appendix B-shaped learning, JSON in the erasable store (None: erased before collation)"
    )
    review_id: UUID | None = Field(description="The LIF review it came from (None: not a LIF review)")


class SourceRecorded(EventEnvelope):
    """A source of learning is held in the register (rules.md 1 E2, E4 and 6)."""

    event_type: Literal["learning.source_recorded"] = "learning.source_recorded"
    schema_version: Literal[1] = 1
    payload: SourceRecordedPayload


class RecommendationTrackedPayload(_Model):
    recommendation_id: UUID
    source_id: UUID
    scope: Scope
    agency: NotifyingAgency | None = Field(description="The agency a single-agency recommendation is for")
    themes: list[ThemeTag]
    text: DocumentRef


class RecommendationTracked(EventEnvelope):
    """A key recommendation of a source is tracked to impact."""

    event_type: Literal["learning.recommendation_tracked"] = "learning.recommendation_tracked"
    schema_version: Literal[1] = 1
    payload: RecommendationTrackedPayload


class ActionDueSetPayload(_Model):
    recommendation_id: UUID
    action_id: UUID
    owning_agency: NotifyingAgency
    due: date = Field(description="An obligation: reminded before, escalated after (rules.md 8)")
    previous_due: date | None = Field(description="The due date it replaces (None: a new action)")
    description: DocumentRef


class ActionDueSet(EventEnvelope):
    """An action of a recommendation, owned by an agency, is due on a date (new, or moved)."""

    event_type: Literal["learning.action_due_set"] = "learning.action_due_set"
    schema_version: Literal[1] = 1
    payload: ActionDueSetPayload


class ActionStatusChangedPayload(_Model):
    recommendation_id: UUID
    action_id: UUID
    status: ActionStatus = Field(description="done and cancelled end the action's obligation")
    on: date


class ActionStatusChanged(EventEnvelope):
    event_type: Literal["learning.action_status_changed"] = "learning.action_status_changed"
    schema_version: Literal[1] = 1
    payload: ActionStatusChangedPayload


class ImpactEvidencedPayload(_Model):
    recommendation_id: UUID
    evidence_id: UUID
    audited_on: date
    result: ImpactResult
    finding: DocumentRef
    reaudit_id: UUID | None = Field(description="The re-audit this audit answers (it ends that obligation)")


class ImpactEvidenced(EventEnvelope):
    """An audit of a recommendation's impact, with its date, result and finding."""

    event_type: Literal["learning.impact_evidenced"] = "learning.impact_evidenced"
    schema_version: Literal[1] = 1
    payload: ImpactEvidencedPayload


class ReauditScheduledPayload(_Model):
    recommendation_id: UUID
    reaudit_id: UUID
    due: date = Field(description="An obligation: reminded before, escalated after (rules.md 8)")


class ReauditScheduled(EventEnvelope):
    event_type: Literal["learning.reaudit_scheduled"] = "learning.reaudit_scheduled"
    schema_version: Literal[1] = 1
    payload: ReauditScheduledPayload


LEARNING_EVENTS: tuple[type[EventEnvelope], ...] = (
    SourceRecorded,
    RecommendationTracked,
    ActionDueSet,
    ActionStatusChanged,
    ImpactEvidenced,
    ReauditScheduled,
)
"""Every event of this topic, for the registry and the AsyncAPI document."""
