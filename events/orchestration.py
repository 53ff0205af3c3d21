"""Events of the review orchestration service (topic `lif.orchestration.v1`).

One review process per case under review (rules.md sections 4 to 6). Free text about people never enters
these events: it is kept in the service's erasable store and referenced by `DocumentRef` (id and sha256)
or, for short external references whose hash could be guessed, by the document id alone. People appear
only by their LIF account (principal) name or the lead reviewer registry id.
"""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from events.decisioning import DecisionKind, DocumentRef
from events.envelope import EventEnvelope
from events.fields import Count, Line
from events.incidents import NotifyingAgency

Agency = NotifyingAgency
ReviewKind = Literal["scr", "macr", "iar"]
Phase = Literal["pre_decision", "review"]
StepKind = Literal["stage", "publication", "closure"]
Group = Literal["review_group", "case_group"]
MemberRole = Literal[
    "lead_reviewer",
    "review_group_chair",
    "senior_manager",
    "agency_author",
    "adviser",
    "practitioner",
    "line_manager",
]
ParallelProcessKind = Literal[
    "dhr",
    "mappa_scr",
    "criminal_investigation",
    "inquest",
    "youth_justice_serious_incident",
    "health_serious_incident",
]
STAGE_ID_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- the plan a process follows ----------------------------------------------------------------------------


class DurationRange(_Model):
    """What the plan allows for a stage, in half days (rules.md section 4: '1/2 day', '2+ half days')."""

    min_half_days: int = Field(ge=1)
    max_half_days: int | None = Field(ge=1, description="None: no upper bound ('2+ half days')")


class PlannedStage(_Model):
    """One stage of the plan, with the due date computed when the plan started (for 'overdue' views)."""

    stage_id: str = Field(pattern=STAGE_ID_PATTERN)
    number: int | None = Field(description="The stage number of rules.md section 4, when it has one")
    name: Line
    step: StepKind
    due: date | None = Field(description="Planned completion date; None: no date (publication, closure)")
    duration: DurationRange | None
    after: list[Line] = Field(description="Stages that must be held first (unless they were moved)")
    complete_before: list[Line] = Field(description="Steps this stage must be held before, even when moved")
    move_reasons: list[Line] = Field(description="Reasons the plan lets this stage move for; empty: it may not move")


class ReviewProcessOpenedPayload(_Model):
    review_id: UUID = Field(description="The process id: uuid5 of the case id")
    trigger: Literal["statutory_recommendation", "scr_panel_referral", "chair_decision"]
    trigger_event_id: UUID = Field(description="The decisioning event that started the process")
    opened_on: date
    considered_for_scr: bool = Field(description="rules.md 1 C: statutory test held or referred to the SCR panel")
    regime: Line = Field(description="The rule pack whose stage plans the process follows, e.g. nwlif-2015")


class ReviewProcessOpened(EventEnvelope):
    """A case came under review: a process was opened for it (before or at the Chair's decision)."""

    event_type: Literal["orchestration.review_process_opened"] = "orchestration.review_process_opened"
    schema_version: Literal[1] = 1
    payload: ReviewProcessOpenedPayload


class ReviewPlanStartedPayload(_Model):
    phase: Phase
    review_kind: ReviewKind
    method: Line = Field(description="pre_decision, intensive, targeted, or the board's MACR/IAR method")
    plan_id: Line
    regime: Line
    plan_version: Line
    started_on: date
    decision_event_id: UUID | None = Field(description="The Chair's decision that started it (review phase)")
    stages: list[PlannedStage]
    deadlines: dict[str, date] = Field(
        description="pre_decision_due (inside T1) or scr_completion_due (T6: six months from initiation)"
    )
    replaces_plan: Line | None = Field(description="The plan this one replaces (the earlier phase or decision)")
    dropped_stages: list[Line] = Field(description="Stages of the replaced plan no longer expected (never held)")


class ReviewPlanStarted(EventEnvelope):
    """The process follows a (new) stage plan: the pre-decision stages, or the review the Chair decided."""

    event_type: Literal["orchestration.review_plan_started"] = "orchestration.review_plan_started"
    schema_version: Literal[1] = 1
    payload: ReviewPlanStartedPayload


class ReviewNotInitiatedPayload(_Model):
    decision_event_id: UUID
    decision: DecisionKind
    decided_on: date
    ended_plan: Line | None
    dropped_stages: list[Line]


class ReviewNotInitiated(EventEnvelope):
    """The Chair decided no review process (forum, embedding review, no review): the process stops."""

    event_type: Literal["orchestration.review_not_initiated"] = "orchestration.review_not_initiated"
    schema_version: Literal[1] = 1
    payload: ReviewNotInitiatedPayload


# --- stages ----------------------------------------------------------------------------------------------------


class Duration(_Model):
    amount: Count = Field(ge=1, le=60)
    unit: Literal["half_days", "days"]


class StageScheduledPayload(_Model):
    stage_id: str = Field(pattern=STAGE_ID_PATTERN)
    scheduled_for: date
    planned_duration: Duration


class StageScheduled(EventEnvelope):
    """A stage was given (or moved to) a date and a planned duration."""

    event_type: Literal["orchestration.stage_scheduled"] = "orchestration.stage_scheduled"
    schema_version: Literal[1] = 1
    payload: StageScheduledPayload


class StageHeldPayload(_Model):
    stage_id: str = Field(pattern=STAGE_ID_PATTERN)
    held_on: date


class StageHeld(EventEnvelope):
    """A stage took place (is complete for the order of the plan)."""

    event_type: Literal["orchestration.stage_held"] = "orchestration.stage_held"
    schema_version: Literal[1] = 1
    payload: StageHeldPayload


class StageOutcomeRecordedPayload(_Model):
    stage_id: str = Field(pattern=STAGE_ID_PATTERN)
    result: Literal["completed", "completed_with_actions", "incomplete"]
    agencies_present: list[Agency]
    actions_agreed: int = Field(ge=0)
    note: DocumentRef | None


class StageOutcomeRecorded(EventEnvelope):
    """The short structured outcome of a held stage; a later one corrects it (both stay)."""

    event_type: Literal["orchestration.stage_outcome_recorded"] = "orchestration.stage_outcome_recorded"
    schema_version: Literal[1] = 1
    payload: StageOutcomeRecordedPayload


class StageMovedPayload(_Model):
    stage_id: str = Field(pattern=STAGE_ID_PATTERN)
    reason: Line = Field(description="One of the reasons the plan allows for this stage")
    previous_due: date | None
    new_due: date | None
    note: DocumentRef | None


class StageMoved(EventEnvelope):
    """A movable stage left its place in the order (it no longer blocks later stages) with a reason."""

    event_type: Literal["orchestration.stage_moved"] = "orchestration.stage_moved"
    schema_version: Literal[1] = 1
    payload: StageMovedPayload


# --- groups and consultation ------------------------------------------------------------------------------------


class MemberAddedPayload(_Model):
    group: Group
    member_id: Line = Field(min_length=1, max_length=200, description="LIF account name or reviewer registry id")
    role: MemberRole
    agency: Agency | None
    source: Literal["command", "lead_reviewer_appointment"]
    appointment_event_id: UUID | None


class MemberAdded(EventEnvelope):
    """Someone joined the Review Group or the Case Group."""

    event_type: Literal["orchestration.member_added"] = "orchestration.member_added"
    schema_version: Literal[1] = 1
    payload: MemberAddedPayload


class MemberRemovedPayload(_Model):
    group: Group
    member_id: Line = Field(min_length=1, max_length=200)
    reason: Literal["left", "replaced", "added_in_error", "not_independent", "other"] = Field(
        description="not_independent: a hand-added lead reviewer leaves when the review becomes an SCR"
    )


class MemberRemoved(EventEnvelope):
    """Someone left the Review Group or the Case Group."""

    event_type: Literal["orchestration.member_removed"] = "orchestration.member_removed"
    schema_version: Literal[1] = 1
    payload: MemberRemovedPayload


class FindingsSharedPayload(_Model):
    version: int = Field(ge=1)
    findings: DocumentRef
    shared_on: date


class FindingsShared(EventEnvelope):
    """A version of the findings was shared with the Case Group for consultation."""

    event_type: Literal["orchestration.findings_shared"] = "orchestration.findings_shared"
    schema_version: Literal[1] = 1
    payload: FindingsSharedPayload


class CaseGroupResponseRecordedPayload(_Model):
    member_id: Line = Field(min_length=1, max_length=200)
    findings_version: int = Field(ge=1)
    response: Literal["agrees", "agrees_with_corrections", "disagrees", "no_response"]
    responded_on: date
    comments: DocumentRef | None
    corrections: list[DocumentRef]


class CaseGroupResponseRecorded(EventEnvelope):
    """A Case Group member's response to the findings, with their corrections (seed 5.7)."""

    event_type: Literal["orchestration.case_group_response_recorded"] = "orchestration.case_group_response_recorded"
    schema_version: Literal[1] = 1
    payload: CaseGroupResponseRecordedPayload


# --- SPE chronologies -------------------------------------------------------------------------------------------


class Principles(_Model):
    """The four principles of an SPE chronology entry; each text is in the erasable store."""

    risk: DocumentRef | None
    response: DocumentRef | None
    partnership: DocumentRef | None
    learning: DocumentRef | None


class LearningFlags(_Model):
    significant: StrictBool
    new: StrictBool


class Significance(_Model):
    """The six significance questions (seed 5.2): one 'yes' makes the entry a Significant Practice Event."""

    changed_assessment: StrictBool = Field(description="Changed or could have changed the assessment")
    pattern: StrictBool = Field(description="Symbolic of a pattern")
    statutory_event: StrictBool = Field(description="A statutory event (conference, court)")
    significant_to_child: StrictBool
    significant_to_adult: StrictBool = Field(description="Significant to a significant adult")
    learning_point: StrictBool = Field(description="A learning point for agencies")


class ChronologyEntryPayload(_Model):
    entry_id: UUID
    agency: Agency
    version: int = Field(ge=1)
    event_date: date
    description: DocumentRef
    principles: Principles
    learning_flags: LearningFlags
    significance: Significance
    significant: bool = Field(description="False when no significance question was answered yes")
    correction_reason: DocumentRef | None = Field(description="Why a correction was made (versions after 1)")


class ChronologyEntrySubmitted(EventEnvelope):
    """An agency's SPE chronology entry was submitted (version 1)."""

    event_type: Literal["orchestration.chronology_entry_submitted"] = "orchestration.chronology_entry_submitted"
    schema_version: Literal[1] = 1
    payload: ChronologyEntryPayload


class ChronologyEntryCorrected(EventEnvelope):
    """A new version of a chronology entry; the earlier versions stay in the history."""

    event_type: Literal["orchestration.chronology_entry_corrected"] = "orchestration.chronology_entry_corrected"
    schema_version: Literal[1] = 1
    payload: ChronologyEntryPayload


# --- parallel processes and publication holds ------------------------------------------------------------------


class ParallelProcessLinkedPayload(_Model):
    link_id: UUID
    kind: ParallelProcessKind
    reference_document_id: UUID | None = Field(
        description="The external reference, kept in the erasable store (no hash: short references are guessable)"
    )
    started_on: date | None
    status: Literal["ongoing", "concluded"]


class ParallelProcessLinked(EventEnvelope):
    """A parallel process (DHR, MAPPA SCR, criminal investigation, inquest, ...) was linked to the review."""

    event_type: Literal["orchestration.parallel_process_linked"] = "orchestration.parallel_process_linked"
    schema_version: Literal[1] = 1
    payload: ParallelProcessLinkedPayload


class ParallelProcessUpdatedPayload(_Model):
    link_id: UUID
    status: Literal["ongoing", "concluded"]
    on: date


class ParallelProcessUpdated(EventEnvelope):
    """A linked parallel process changed status."""

    event_type: Literal["orchestration.parallel_process_updated"] = "orchestration.parallel_process_updated"
    schema_version: Literal[1] = 1
    payload: ParallelProcessUpdatedPayload


class PublicationHoldSetPayload(_Model):
    hold_id: UUID
    reason: Literal["criminal_trial", "inquest", "other"]
    linked_process: UUID | None = Field(description="The parallel process behind the hold, if linked")
    set_on: date


class PublicationHoldSet(EventEnvelope):
    """Publication is held (e.g. while a criminal trial runs); nothing is published or closed meanwhile."""

    event_type: Literal["orchestration.publication_hold_set"] = "orchestration.publication_hold_set"
    schema_version: Literal[1] = 1
    payload: PublicationHoldSetPayload


class PublicationHoldLiftedPayload(_Model):
    hold_id: UUID
    lifted_on: date


class PublicationHoldLifted(EventEnvelope):
    """A publication hold was lifted."""

    event_type: Literal["orchestration.publication_hold_lifted"] = "orchestration.publication_hold_lifted"
    schema_version: Literal[1] = 1
    payload: PublicationHoldLiftedPayload


# --- completion -------------------------------------------------------------------------------------------------


class FinalReportRecordedPayload(_Model):
    version: int = Field(ge=1)
    report: DocumentRef
    received_on: date


class FinalReportRecorded(EventEnvelope):
    """The final report (a version of it) was received; the text is in the erasable store."""

    event_type: Literal["orchestration.final_report_recorded"] = "orchestration.final_report_recorded"
    schema_version: Literal[1] = 1
    payload: FinalReportRecordedPayload


class LearningSummaryRecordedPayload(_Model):
    summary: DocumentRef = Field(description="Every Appendix B field, as JSON in the erasable store")
    reference_code: Line = Field(min_length=1, max_length=60)
    themes: list[Line] = Field(min_length=1, description="Learning themes, ids of the board's typology")
    typology: Line | None
    typology_version: Line | None
    completed_on: date
    incident_month: str = Field(pattern=MONTH_PATTERN)
    review_kind: ReviewKind
    method: Line


class LearningSummaryRecorded(EventEnvelope):
    """The review's Learning Summary (rules.md section 6, Appendix B); a later one replaces it."""

    event_type: Literal["orchestration.learning_summary_recorded"] = "orchestration.learning_summary_recorded"
    schema_version: Literal[1] = 1
    payload: LearningSummaryRecordedPayload


class ReviewPublishedPayload(_Model):
    published_on: date
    available_until: date = Field(description="T7: the report stays available at least 12 months")
    final_report_version: int = Field(ge=1)


class ReviewPublished(EventEnvelope):
    """The Chair published the final report."""

    event_type: Literal["orchestration.review_published"] = "orchestration.review_published"
    schema_version: Literal[1] = 1
    payload: ReviewPublishedPayload


class ReviewClosedPayload(_Model):
    closed_on: date
    reference_code: Line = Field(description="The learning summary's review reference code")
    themes: list[Line] = Field(description="The learning summary's themes, for collation and rule E2")
    typology: Line | None
    typology_version: Line | None
    published: bool


class ReviewClosed(EventEnvelope):
    """The review was closed with its learning summary."""

    event_type: Literal["orchestration.review_closed"] = "orchestration.review_closed"
    schema_version: Literal[1] = 1
    payload: ReviewClosedPayload


ORCHESTRATION_EVENTS: tuple[type[EventEnvelope], ...] = (
    ReviewProcessOpened,
    ReviewPlanStarted,
    ReviewNotInitiated,
    StageScheduled,
    StageHeld,
    StageOutcomeRecorded,
    StageMoved,
    MemberAdded,
    MemberRemoved,
    FindingsShared,
    CaseGroupResponseRecorded,
    ChronologyEntrySubmitted,
    ChronologyEntryCorrected,
    ParallelProcessLinked,
    ParallelProcessUpdated,
    PublicationHoldSet,
    PublicationHoldLifted,
    FinalReportRecorded,
    LearningSummaryRecorded,
    ReviewPublished,
    ReviewClosed,
)
"""Every event of this topic, for the registry and the AsyncAPI document."""
