"""Events of the threshold decisioning service (topic `lif.decisioning.v1`)."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from events.envelope import EventEnvelope
from events.fields import Line
from events.incidents import IncidentFacts

ReviewType = Literal[
    "serious_case_review",
    "multi_agency_concise_review",
    "individual_agency_review",
    "multi_professional_forum",
    "embedding_review",
    "no_review",
    "rapid_review",
]
MethodologyHint = Literal["intensive", "targeted"]


class RepeatLearning(BaseModel):
    """Why a case's learning counts as already identified (rule E2): its themes and the earlier reviews."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    themes: list[Line] = Field(description="The case's learning themes found in closed reviews")
    typology: Line
    typology_version: Line
    earlier_reviews: list[Line] = Field(
        description="The closed reviews that hold them: the board's own by reference code, another board's by "
        "board, kind and month (\"Bolton's MACR closed 2015-08\"), never its reference code"
    )


class Recommendation(BaseModel):
    """What the rule pack recommends, and why; the same object `lif assess` prints."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    review_type: ReviewType
    statutory_scr: bool
    methodology_hint: MethodologyHint | None
    rules_fired: list[Line] = Field(description="Every rule id whose condition held, in rules.md order")
    rule_pack: Line
    rule_pack_version: Line
    reasons: list[Line] = Field(description="Plain sentences explaining the recommendation")
    deadlines: dict[str, date] = Field(description="Deadline name to ISO date")
    repeat_learning: RepeatLearning | None = Field(
        default=None, description="Rule E2 found by the service: the themes and the earlier reviews"
    )


class RecommendationRecordedPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    incident_event_id: UUID = Field(description="The intake event this recommendation answers")
    facts: IncidentFacts = Field(description="The facts the rule pack saw")
    recommendation: Recommendation


class RecommendationRecorded(EventEnvelope):
    """The threshold recommendation for a case was recorded."""

    event_type: Literal["decisioning.recommendation_recorded"] = "decisioning.recommendation_recorded"
    schema_version: Literal[1] = 1
    payload: RecommendationRecordedPayload


# --- The board's decisions ---------------------------------------------------------------------------

DecisionKind = Literal[
    "initiate_scr",
    "commission_macr",
    "request_iar",
    "propose_forum",
    "embedding_review",
    "no_review",
]
Methodology = Literal["intensive", "targeted"]
MethodologyCriterion = Literal["D1", "D2", "D3", "D4", "D5", "D6", "D7"]


class DocumentRef(BaseModel):
    """Free text kept outside the log: its id in the service's erasable store and a hash of its content.

    The hash lets an auditor prove the text read later is the text the event was recorded with; erasing
    the text leaves the reference (and the history) intact.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    document_id: UUID
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class MethodologyChoice(BaseModel):
    """The SCR methodology the planning meeting advised and the rule pack confirmed (rules D1-D7)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    methodology: Methodology
    criteria_held: list[MethodologyCriterion] = Field(description="D criteria that held, as advised")
    rules_fired: list[MethodologyCriterion] = Field(description="The criteria that decided, by precedence")
    reasons: list[Line]


class ChairDecisionPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: DecisionKind
    decided_on: date = Field(description="The date of the Chair's decision (Europe/London)")
    recommendation_event_id: UUID = Field(description="The recommendation the Chair saw")
    recommendation: Recommendation = Field(description="A copy of what the Chair saw, for the audit")
    departs_from_recommendation: bool
    rationale: DocumentRef | None = Field(description="Required when departing or superseding")
    supersedes: UUID | None = Field(description="The earlier decision this one replaces (both stay)")
    considered_for_scr: bool = Field(description="Statutory test held or the case was referred (rules.md 1 C)")
    scr_route: Literal["statutory", "discretionary"] | None = Field(description="For initiate_scr only")
    methodology: MethodologyChoice | None = Field(description="For initiate_scr only")
    forum_theme: Line | None = Field(description="For propose_forum: a theme of the board's typology")
    rule_pack: Line
    rule_pack_version: Line
    deadlines: dict[str, date] = Field(description="Deadlines this decision starts, e.g. panel_notice_due (T2)")


class ChairDecisionRecorded(EventEnvelope):
    """The board's Independent Chair decided what review, if any, the case gets."""

    event_type: Literal["decisioning.chair_decision_recorded"] = "decisioning.chair_decision_recorded"
    schema_version: Literal[1] = 1
    payload: ChairDecisionPayload


class ScrPanelReferralPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    referred_on: date
    reason: DocumentRef | None


class ScrPanelReferralRecorded(EventEnvelope):
    """A business manager referred the case to the board's SCR panel: it is now considered for an SCR."""

    event_type: Literal["decisioning.scr_panel_referral_recorded"] = "decisioning.scr_panel_referral_recorded"
    schema_version: Literal[1] = 1
    payload: ScrPanelReferralPayload


class DiscretionaryInputPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["peer_challenge", "national_panel_consultation"]
    held_on: date
    supports_scr: bool = Field(description="Whether the challenge or consultation advised an SCR")
    note: DocumentRef | None


class DiscretionaryInputRecorded(EventEnvelope):
    """Peer challenge or a National Panel consultation on a case below the statutory test (rule B)."""

    event_type: Literal["decisioning.discretionary_input_recorded"] = "decisioning.discretionary_input_recorded"
    schema_version: Literal[1] = 1
    payload: DiscretionaryInputPayload


class LeadReviewerAppointedPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reviewer_id: Line = Field(description="The reviewer's id in the registry (names stay in the registry)")
    decision_event_id: UUID = Field(description="The decision that commissioned the review")
    review: DecisionKind
    appointed_on: date
    independence: Literal["independent_of_board", "internal_allowed"] = Field(
        description="independent_of_board: checked against every agency of the board (any SCR)"
    )


class LeadReviewerAppointed(EventEnvelope):
    """The Chair appointed a lead reviewer to the commissioned review."""

    event_type: Literal["decisioning.lead_reviewer_appointed"] = "decisioning.lead_reviewer_appointed"
    schema_version: Literal[1] = 1
    payload: LeadReviewerAppointedPayload


class PanelNoticePreparedPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    notice_id: UUID
    idempotency_key: Line = Field(description="One notice per decision: the decision's event id")
    decision_event_id: UUID
    initiating: bool
    content_rule: Literal["T3", "T4"] = Field(description="T3: not initiating; T4: initiating")
    due: date = Field(description="T2: 14 days from the decision")
    document: DocumentRef = Field(description="The rendered notice (HTML) in the erasable store")
    formats: list[Literal["html", "markdown"]]


class PanelNoticePrepared(EventEnvelope):
    """The National Panel notice for a decision was rendered and filed in the erasable store."""

    event_type: Literal["decisioning.panel_notice_prepared"] = "decisioning.panel_notice_prepared"
    schema_version: Literal[1] = 1
    payload: PanelNoticePreparedPayload


class PanelNoticeSentPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    notice_id: UUID
    sent_on: date
    channel: Literal["manual", "email"] = Field(
        description="`manual`: marked sent by a person (filed through the Panel's own form); `email`: delivered by LIF"
    )
    delivery_event_id: UUID | None = Field(
        default=None, description="For `email`: the notifications outbox's `notification_delivered` event"
    )


class PanelNoticeSent(EventEnvelope):
    """The National Panel notice was sent: marked by a person, or delivered through the notifications outbox."""

    event_type: Literal["decisioning.panel_notice_sent"] = "decisioning.panel_notice_sent"
    schema_version: Literal[1] = 1
    payload: PanelNoticeSentPayload


class LearningThemesTaggedPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    themes: list[Line] = Field(min_length=1)
    typology: Line
    typology_version: Line


class LearningThemesTagged(EventEnvelope):
    """A business manager tagged the case with learning themes from the board's typology (rule E2)."""

    event_type: Literal["decisioning.learning_themes_tagged"] = "decisioning.learning_themes_tagged"
    schema_version: Literal[1] = 1
    payload: LearningThemesTaggedPayload


# --- The 2018 regime's two deadlines (rules.md section 7) ---------------------------------------------------


class PanelNotificationRecordedPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    notified_on: date = Field(description="When the board notified the Child Safeguarding Practice Review Panel")
    due: date = Field(description="panel_notification_due: 5 working days from notified_date")


class PanelNotificationRecorded(EventEnvelope):
    """The board notified the Child Safeguarding Practice Review Panel of a serious case (meets
    `panel_notification_due`)."""

    event_type: Literal["decisioning.panel_notification_recorded"] = "decisioning.panel_notification_recorded"
    schema_version: Literal[1] = 1
    payload: PanelNotificationRecordedPayload


class RapidReviewHeldPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    held_on: date = Field(description="When the rapid review was held")
    due: date = Field(description="rapid_review_due: 15 working days from notified_date")


class RapidReviewHeld(EventEnvelope):
    """The board held the rapid review of a serious case (meets `rapid_review_due`)."""

    event_type: Literal["decisioning.rapid_review_held"] = "decisioning.rapid_review_held"
    schema_version: Literal[1] = 1
    payload: RapidReviewHeldPayload
