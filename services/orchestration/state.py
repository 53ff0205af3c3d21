"""A review process's current state, folded from its public events (the same events projections see).

Keeping the fold on the contract events (not on private ones) means the service decides from exactly
what it publishes: there is no state an auditor could not rebuild from the topic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from events.envelope import Actor, EventEnvelope
from events.orchestration import (
    CaseGroupResponseRecorded,
    CaseGroupResponseRecordedPayload,
    ChronologyEntryCorrected,
    ChronologyEntryPayload,
    ChronologyEntrySubmitted,
    FinalReportRecorded,
    FinalReportRecordedPayload,
    FindingsShared,
    FindingsSharedPayload,
    LearningSummaryRecorded,
    LearningSummaryRecordedPayload,
    MemberAdded,
    MemberAddedPayload,
    MemberRemoved,
    ParallelProcessLinked,
    ParallelProcessLinkedPayload,
    ParallelProcessUpdated,
    PlannedStage,
    PublicationHoldLifted,
    PublicationHoldSet,
    PublicationHoldSetPayload,
    ReviewClosed,
    ReviewClosedPayload,
    ReviewNotInitiated,
    ReviewPlanStarted,
    ReviewProcessOpened,
    ReviewPublished,
    ReviewPublishedPayload,
    StageHeld,
    StageMoved,
    StageMovedPayload,
    StageOutcomeRecorded,
    StageOutcomeRecordedPayload,
    StageScheduled,
    StageScheduledPayload,
)

Status = Literal["pre_decision", "in_review", "not_initiated", "closed"]


@dataclass
class StageState:
    """A stage as planned, and what has happened to it."""

    planned: PlannedStage
    plan_id: str
    schedule: StageScheduledPayload | None = None
    held_on: date | None = None
    outcomes: list[StageOutcomeRecordedPayload] = field(default_factory=list)
    moved: StageMovedPayload | None = None
    dropped: bool = False

    @property
    def stage_id(self) -> str:
        return self.planned.stage_id

    @property
    def due(self) -> date | None:
        """The planned date, or the date it was moved to."""
        return self.moved.new_due if self.moved is not None else self.planned.due

    @property
    def status(self) -> Literal["dropped", "held", "moved", "scheduled", "planned"]:
        if self.held_on is not None:
            return "held"
        if self.dropped:
            return "dropped"
        if self.moved is not None:
            return "moved"
        return "scheduled" if self.schedule is not None else "planned"


@dataclass(frozen=True)
class Member:
    added: MemberAddedPayload
    actor: Actor


@dataclass(frozen=True)
class EntryVersion:
    """One version of a chronology entry, with who recorded it and when."""

    payload: ChronologyEntryPayload
    actor: Actor
    recorded_at: datetime


@dataclass
class Hold:
    set: PublicationHoldSetPayload
    lifted_on: date | None = None


@dataclass
class ReviewState:
    review_id: UUID
    case_id: UUID
    lscb: str
    correlation_id: UUID
    regime: str
    opened_on: date
    considered_for_scr: bool
    status: Status = "pre_decision"
    phase: Literal["pre_decision", "review"] = "pre_decision"
    review_kind: str = "scr"
    method: str = "pre_decision"
    plan_id: str = ""
    plan_version: str = ""
    pre_decision_plan_id: str = ""
    plan_started_on: dict[str, date] = field(default_factory=dict)
    decision_event_id: UUID | None = None
    deadlines: dict[str, date] = field(default_factory=dict)
    stages: dict[str, StageState] = field(default_factory=dict)
    members: dict[tuple[str, str], Member] = field(default_factory=dict)
    findings: list[FindingsSharedPayload] = field(default_factory=list)
    responses: list[CaseGroupResponseRecordedPayload] = field(default_factory=list)
    chronology: dict[UUID, list[EntryVersion]] = field(default_factory=dict)
    parallel: dict[UUID, ParallelProcessLinkedPayload] = field(default_factory=dict)
    holds: dict[UUID, Hold] = field(default_factory=dict)
    final_reports: list[FinalReportRecordedPayload] = field(default_factory=list)
    learning_summary: LearningSummaryRecordedPayload | None = None
    published: ReviewPublishedPayload | None = None
    closed: ReviewClosedPayload | None = None
    event_count: int = 0
    requests: dict[UUID, str] = field(default_factory=dict)
    """The request hashes noted for events recorded under an Idempotency-Key, by event id."""
    keyed: dict[UUID, tuple[str, EventEnvelope]] = field(default_factory=dict)
    """The events recorded under an Idempotency-Key, with their request's hash, by event id."""

    @classmethod
    def opened(cls, event: ReviewProcessOpened) -> ReviewState:
        p = event.payload
        state = cls(
            review_id=p.review_id,
            case_id=event.case_id,
            lscb=event.lscb,
            correlation_id=event.correlation_id,
            regime=p.regime,
            opened_on=p.opened_on,
            considered_for_scr=p.considered_for_scr,
        )
        state.event_count = 1
        return state

    # --- questions the commands and views ask -------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status in ("pre_decision", "in_review")

    def current_stages(self) -> list[StageState]:
        """The stages of the plan in force, in plan order."""
        return [s for s in self.stages.values() if s.plan_id == self.plan_id and not s.dropped]

    def open_pre_decision_stages(self) -> list[StageState]:
        """Stages 1-3 not yet held, before or after the decision: a decision taken early leaves them open
        and recordable (late against T1), because they happen before the decision (rules.md 4)."""
        if not self.is_open or not self.pre_decision_plan_id:
            return []
        return [
            s
            for s in self.stages.values()
            if s.plan_id == self.pre_decision_plan_id and not s.dropped and s.held_on is None
        ]

    def review_started_on(self, stage: StageState) -> date | None:
        """When the Chair's decision started the plan a review stage belongs to (None for stages 1-3)."""
        if stage.plan_id == self.pre_decision_plan_id:
            return None
        return self.plan_started_on.get(stage.plan_id)

    def recordable(self, stage: StageState) -> bool:
        """A stage of the plan in force, or a pre-decision stage a decision taken early left open."""
        if stage.dropped:
            return False
        return stage.plan_id == self.plan_id or (
            bool(self.pre_decision_plan_id) and stage.plan_id == self.pre_decision_plan_id
        )

    def step(self, step: str) -> StageState | None:
        """The publication or closure step of the plan in force, if it has one."""
        return next((s for s in self.current_stages() if s.planned.step == step), None)

    def current_stage(self) -> StageState | None:
        """The first stage of the plan in force that has not been held (moved stages wait their turn)."""
        return next((s for s in self.current_stages() if s.held_on is None and s.moved is None), None)

    def member(self, group: str, member_id: str) -> Member | None:
        return self.members.get((group, member_id))

    def is_member(self, member_id: str) -> bool:
        return any(key[1] == member_id for key in self.members)

    def active_holds(self) -> list[Hold]:
        return [h for h in self.holds.values() if h.lifted_on is None]

    def latest_findings_version(self) -> int:
        return self.findings[-1].version if self.findings else 0

    def latest_report(self) -> FinalReportRecordedPayload | None:
        return self.final_reports[-1] if self.final_reports else None

    # --- the fold -----------------------------------------------------------------------------------------

    def apply(self, event: EventEnvelope) -> None:
        self.event_count += 1
        if (noted := self.requests.get(event.event_id)) is not None:
            self.keyed[event.event_id] = (noted, event)
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)


def _plan_started(state: ReviewState, event: ReviewPlanStarted) -> None:
    p = event.payload
    for stage_id in p.dropped_stages:
        state.stages[stage_id].dropped = True
    for planned in p.stages:
        existing = state.stages.get(planned.stage_id)
        if existing is None:
            state.stages[planned.stage_id] = StageState(planned=planned, plan_id=p.plan_id)
        else:  # a stage both plans share keeps what already happened to it
            existing.planned, existing.plan_id, existing.dropped = planned, p.plan_id, False
    if p.phase == "pre_decision":
        state.pre_decision_plan_id = p.plan_id
    state.plan_started_on.setdefault(p.plan_id, p.started_on)
    state.phase, state.review_kind, state.method = p.phase, p.review_kind, p.method
    state.plan_id, state.plan_version, state.regime = p.plan_id, p.plan_version, p.regime
    state.decision_event_id = p.decision_event_id
    state.deadlines = dict(p.deadlines)
    state.status = "pre_decision" if p.phase == "pre_decision" else "in_review"


def _not_initiated(state: ReviewState, event: ReviewNotInitiated) -> None:
    for stage_id in event.payload.dropped_stages:
        state.stages[stage_id].dropped = True
    state.decision_event_id = event.payload.decision_event_id
    state.status = "not_initiated"


def _scheduled(state: ReviewState, event: StageScheduled) -> None:
    state.stages[event.payload.stage_id].schedule = event.payload


def _held(state: ReviewState, event: StageHeld) -> None:
    state.stages[event.payload.stage_id].held_on = event.payload.held_on


def _outcome(state: ReviewState, event: StageOutcomeRecorded) -> None:
    state.stages[event.payload.stage_id].outcomes.append(event.payload)


def _moved(state: ReviewState, event: StageMoved) -> None:
    state.stages[event.payload.stage_id].moved = event.payload


def _member_added(state: ReviewState, event: MemberAdded) -> None:
    state.members[(event.payload.group, event.payload.member_id)] = Member(event.payload, event.actor)


def _member_removed(state: ReviewState, event: MemberRemoved) -> None:
    state.members.pop((event.payload.group, event.payload.member_id), None)


def _entry(state: ReviewState, event: ChronologyEntrySubmitted | ChronologyEntryCorrected) -> None:
    version = EntryVersion(event.payload, event.actor, event.recorded_at)
    state.chronology.setdefault(event.payload.entry_id, []).append(version)


def _linked(state: ReviewState, event: ParallelProcessLinked) -> None:
    state.parallel[event.payload.link_id] = event.payload


def _process_updated(state: ReviewState, event: ParallelProcessUpdated) -> None:
    linked = state.parallel[event.payload.link_id]
    state.parallel[event.payload.link_id] = linked.model_copy(update={"status": event.payload.status})


def _hold_set(state: ReviewState, event: PublicationHoldSet) -> None:
    state.holds[event.payload.hold_id] = Hold(event.payload)


def _hold_lifted(state: ReviewState, event: PublicationHoldLifted) -> None:
    state.holds[event.payload.hold_id].lifted_on = event.payload.lifted_on


def _findings(state: ReviewState, event: FindingsShared) -> None:
    state.findings.append(event.payload)


def _response(state: ReviewState, event: CaseGroupResponseRecorded) -> None:
    state.responses.append(event.payload)


def _report(state: ReviewState, event: FinalReportRecorded) -> None:
    state.final_reports.append(event.payload)


def _summary(state: ReviewState, event: LearningSummaryRecorded) -> None:
    state.learning_summary = event.payload


def _published(state: ReviewState, event: ReviewPublished) -> None:
    state.published = event.payload
    _mark_step(state, "publication", event.payload.published_on)


def _closed(state: ReviewState, event: ReviewClosed) -> None:
    state.closed = event.payload
    state.status = "closed"
    _mark_step(state, "closure", event.payload.closed_on)


def _mark_step(state: ReviewState, step: str, on: date) -> None:
    """Publication and closure are steps of the plan too: they count as held when recorded."""
    for stage in state.current_stages():
        if stage.planned.step == step:
            stage.held_on = on


_HANDLERS: dict[type[EventEnvelope], Callable[[ReviewState, Any], None]] = {
    ReviewPlanStarted: _plan_started,
    ReviewNotInitiated: _not_initiated,
    StageScheduled: _scheduled,
    StageHeld: _held,
    StageOutcomeRecorded: _outcome,
    StageMoved: _moved,
    MemberAdded: _member_added,
    MemberRemoved: _member_removed,
    ChronologyEntrySubmitted: _entry,
    ChronologyEntryCorrected: _entry,
    ParallelProcessLinked: _linked,
    ParallelProcessUpdated: _process_updated,
    PublicationHoldSet: _hold_set,
    PublicationHoldLifted: _hold_lifted,
    FindingsShared: _findings,
    CaseGroupResponseRecorded: _response,
    FinalReportRecorded: _report,
    LearningSummaryRecorded: _summary,
    ReviewPublished: _published,
    ReviewClosed: _closed,
}

__all__ = ["EntryVersion", "Hold", "Member", "ReviewState", "StageState", "Status"]
