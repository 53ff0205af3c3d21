"""What a case's review orchestration events add up to: one row of `reviews`.

A pure fold over the case's orchestration events in log order, and the write of its result. The projector
re-folds every stored orchestration event of a case whenever one arrives, so the row depends only on which
events were applied, never on how often they were delivered or how they interleaved with the intake and
decisioning events of the case: a rebuild gives the same row as live delivery.

Nothing here depends on today: stage overdue flags and progress against T6 are computed when a view is read
(`projections.review_queries`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal
from uuid import UUID

from events.envelope import EventEnvelope
from events.orchestration import (
    ChronologyEntryCorrected,
    ChronologyEntrySubmitted,
    LearningSummaryRecorded,
    MemberAdded,
    MemberRemoved,
    ParallelProcessLinked,
    ParallelProcessUpdated,
    PlannedStage,
    PublicationHoldLifted,
    PublicationHoldSet,
    ReviewClosed,
    ReviewNotInitiated,
    ReviewPlanStarted,
    ReviewProcessOpened,
    ReviewPublished,
    StageHeld,
    StageMoved,
    StageOutcomeRecorded,
    StageScheduled,
)
from events.registry import parse_event
from projections.schema import SCHEMA, jsonb_text

ORCHESTRATION_EVENTS = "orchestration."
"""Event types the orchestration service publishes; each re-folds the case's review row."""

ReviewStatus = Literal["open", "not_initiated", "published", "closed"]
LIVE: frozenset[str] = frozenset({"open", "published"})
"""Statuses whose stages and T6 clock still run (a stopped or closed review is never overdue)."""

GROUPS = ("review_group", "case_group")
T6_DEADLINE = "scr_completion_due"
PRE_DECISION_DEADLINE = "pre_decision_due"


@dataclass
class _Stage:
    """A stage as planned, and what happened to it (kept across plans that share the stage id)."""

    planned: PlannedStage
    scheduled_for: date | None = None
    held_on: date | None = None
    moved_reason: str | None = None
    moved_due: date | None = None
    outcome: str | None = None

    @property
    def due(self) -> date | None:
        """The plan's date, or, once moved, the date it was moved to (StageMoved `new_due`, then any later
        StageScheduled date); None while a moved stage has no new date."""
        return self.moved_due if self.moved_reason is not None else self.planned.due

    def as_json(self) -> dict[str, Any]:
        return {
            "stage_id": self.planned.stage_id,
            "number": self.planned.number,
            "name": self.planned.name,
            "step": self.planned.step,
            "plan_due": _iso(self.planned.due),
            "due": _iso(self.due),
            "scheduled_for": _iso(self.scheduled_for),
            "held_on": _iso(self.held_on),
            "moved": self.moved_reason,
            "outcome": self.outcome,
        }


@dataclass
class ReviewRow:
    """The `reviews` row of one case (JSON-ready values for the jsonb columns)."""

    review_id: UUID
    case_id: UUID
    lscb: str
    regime: str
    opened_on: date
    status: ReviewStatus = "open"
    review_kind: str | None = None
    method: str | None = None
    phase: str | None = None
    plan_id: str | None = None
    plan_version: str | None = None
    started_on: date | None = None
    decision_event_id: UUID | None = None
    stages: list[dict[str, Any]] = field(default_factory=list)
    current_stage: str | None = None
    t6_due: date | None = None
    pre_decision_due: date | None = None
    published_on: date | None = None
    available_until: date | None = None
    closed_on: date | None = None
    publication_hold: bool = False
    members: dict[str, int] = field(default_factory=dict)
    member_ids: list[str] = field(default_factory=list)
    chronology_entries: int = 0
    significant_entries: int = 0
    parallel_processes: list[dict[str, Any]] = field(default_factory=list)
    learning_summary_ref: str | None = None


@dataclass
class _Fold:
    """The running state of the fold; `row` is None until the process was opened."""

    row: ReviewRow | None = None
    plan: list[str] = field(default_factory=list)
    stages: dict[str, _Stage] = field(default_factory=dict)
    members: dict[tuple[str, str], str] = field(default_factory=dict)
    entries: dict[UUID, tuple[int, bool]] = field(default_factory=dict)
    processes: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    holds: dict[UUID, bool] = field(default_factory=dict)

    def apply(self, event: EventEnvelope) -> None:
        if isinstance(event, ReviewProcessOpened):
            p = event.payload
            self.row = ReviewRow(p.review_id, event.case_id, event.lscb, p.regime, p.opened_on)
            return
        handler = _HANDLERS.get(type(event))
        # Orchestration events of a case arrive in order, so the opening always comes first. FindingsShared,
        # CaseGroupResponseRecorded and FinalReportRecorded add nothing to the progress views.
        if self.row is not None and handler is not None:
            handler(self, self.row, event)

    def _not_initiated(self, row: ReviewRow, event: ReviewNotInitiated) -> None:
        row.status, row.decision_event_id = "not_initiated", event.payload.decision_event_id

    def _scheduled(self, row: ReviewRow, event: StageScheduled) -> None:
        if (stage := self._stage(event.payload.stage_id)) is not None:
            stage.scheduled_for = event.payload.scheduled_for  # the plan's due date stays (as orchestration has it)

    def _held(self, row: ReviewRow, event: StageHeld) -> None:
        if (stage := self._stage(event.payload.stage_id)) is not None:
            stage.held_on = event.payload.held_on

    def _outcome(self, row: ReviewRow, event: StageOutcomeRecorded) -> None:
        if (stage := self._stage(event.payload.stage_id)) is not None:
            stage.outcome = event.payload.result  # a later outcome corrects the earlier one

    def _moved(self, row: ReviewRow, event: StageMoved) -> None:
        if (stage := self._stage(event.payload.stage_id)) is not None:
            stage.moved_reason, stage.moved_due = event.payload.reason, event.payload.new_due

    def _member_added(self, row: ReviewRow, event: MemberAdded) -> None:
        self.members[(event.payload.group, event.payload.member_id)] = event.payload.role

    def _member_removed(self, row: ReviewRow, event: MemberRemoved) -> None:
        self.members.pop((event.payload.group, event.payload.member_id), None)

    def _entry(self, row: ReviewRow, event: ChronologyEntrySubmitted | ChronologyEntryCorrected) -> None:
        entry = event.payload
        known = self.entries.get(entry.entry_id)
        if known is None or entry.version >= known[0]:
            self.entries[entry.entry_id] = (entry.version, entry.significant)

    def _linked(self, row: ReviewRow, event: ParallelProcessLinked) -> None:
        link = event.payload
        self.processes[link.link_id] = {"kind": link.kind, "status": link.status, "started_on": _iso(link.started_on)}

    def _process_updated(self, row: ReviewRow, event: ParallelProcessUpdated) -> None:
        if (process := self.processes.get(event.payload.link_id)) is not None:
            process["status"] = event.payload.status

    def _hold_set(self, row: ReviewRow, event: PublicationHoldSet) -> None:
        self.holds[event.payload.hold_id] = True

    def _hold_lifted(self, row: ReviewRow, event: PublicationHoldLifted) -> None:
        self.holds[event.payload.hold_id] = False

    def _summary(self, row: ReviewRow, event: LearningSummaryRecorded) -> None:
        row.learning_summary_ref = event.payload.reference_code

    def _published(self, row: ReviewRow, event: ReviewPublished) -> None:
        row.status = "published"
        row.published_on, row.available_until = event.payload.published_on, event.payload.available_until

    def _closed(self, row: ReviewRow, event: ReviewClosed) -> None:
        row.status, row.closed_on = "closed", event.payload.closed_on
        row.learning_summary_ref = event.payload.reference_code

    def _stage(self, stage_id: str) -> _Stage | None:
        return self.stages.get(stage_id)

    def _plan_started(self, row: ReviewRow, event: ReviewPlanStarted) -> None:
        p = event.payload
        for planned in p.stages:
            known = self.stages.get(planned.stage_id)
            if known is None:
                self.stages[planned.stage_id] = _Stage(planned)
            else:  # a stage both plans share keeps what already happened to it
                known.planned = planned
        self.plan = [planned.stage_id for planned in p.stages]
        row.status = "open"
        row.phase, row.review_kind, row.method = p.phase, p.review_kind, p.method
        row.plan_id, row.plan_version, row.regime = p.plan_id, p.plan_version, p.regime
        row.started_on, row.decision_event_id = p.started_on, p.decision_event_id
        row.t6_due = p.deadlines.get(T6_DEADLINE)
        row.pre_decision_due = p.deadlines.get(PRE_DECISION_DEADLINE, row.pre_decision_due)

    def result(self) -> ReviewRow | None:
        row = self.row
        if row is None:
            return None
        plan = [self.stages[stage_id] for stage_id in self.plan]
        for stage in plan:  # publication and closure are steps of the plan: held when recorded
            if stage.planned.step == "publication" and row.published_on is not None:
                stage.held_on = stage.held_on or row.published_on
            if stage.planned.step == "closure" and row.closed_on is not None:
                stage.held_on = stage.held_on or row.closed_on
        row.stages = [stage.as_json() for stage in plan]
        current = next((s for s in plan if s.held_on is None and s.moved_reason is None), None)
        row.current_stage = current.planned.stage_id if current is not None and row.status in LIVE else None
        row.members = {group: sum(1 for g, _ in self.members if g == group) for group in GROUPS}
        row.member_ids = sorted({member_id for _, member_id in self.members})
        row.chronology_entries = len(self.entries)
        row.significant_entries = sum(1 for _, significant in self.entries.values() if significant)
        row.parallel_processes = list(self.processes.values())
        row.publication_hold = any(self.holds.values())
        return row


_HANDLERS: dict[type[EventEnvelope], Callable[[_Fold, ReviewRow, Any], None]] = {
    ReviewPlanStarted: _Fold._plan_started,
    ReviewNotInitiated: _Fold._not_initiated,
    StageScheduled: _Fold._scheduled,
    StageHeld: _Fold._held,
    StageOutcomeRecorded: _Fold._outcome,
    StageMoved: _Fold._moved,
    MemberAdded: _Fold._member_added,
    MemberRemoved: _Fold._member_removed,
    ChronologyEntrySubmitted: _Fold._entry,
    ChronologyEntryCorrected: _Fold._entry,
    ParallelProcessLinked: _Fold._linked,
    ParallelProcessUpdated: _Fold._process_updated,
    PublicationHoldSet: _Fold._hold_set,
    PublicationHoldLifted: _Fold._hold_lifted,
    LearningSummaryRecorded: _Fold._summary,
    ReviewPublished: _Fold._published,
    ReviewClosed: _Fold._closed,
}


def fold_review(events: Iterable[EventEnvelope]) -> ReviewRow | None:
    """Fold one case's orchestration events, given in log order (duplicates by event id ignored).

    None when the process has not been opened (no `ReviewProcessOpened` among the events).
    """
    fold = _Fold()
    seen: set[UUID] = set()
    for event in events:
        if event.event_id in seen or not event.event_type.startswith(ORCHESTRATION_EVENTS):
            continue
        seen.add(event.event_id)
        fold.apply(event)
    return fold.result()


async def refresh_review(conn: Any, case_id: UUID) -> None:
    """Re-fold every stored orchestration event of the case into its `reviews` row."""
    await refresh_reviews(conn, [case_id])


async def refresh_reviews(conn: Any, case_ids: Sequence[UUID]) -> None:
    """Re-fold every stored orchestration event of these cases into their `reviews` rows, in one read.

    Log order is record time, then arrival (`case_events.arrival`), which breaks ties between events a command
    recorded in the same instant. The locks (taken in case-id order, so two callers cannot deadlock) serialise
    two transactions refolding one case.
    """
    ordered = sorted(set(case_ids))
    if not ordered:
        return
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(c::text, 7203)) FROM unnest($1::uuid[]) AS c", ordered
    )
    rows = await conn.fetch(
        f"SELECT case_id, document FROM {SCHEMA}.case_events WHERE case_id = ANY($1::uuid[]) "
        "AND event_type LIKE 'orchestration.%' ORDER BY case_id, recorded_at, arrival",
        ordered,
    )
    folded = [
        fold_review(parse_event(r["document"]) for r in group)
        for _, group in itertools.groupby(rows, key=lambda r: r["case_id"])
    ]
    await conn.executemany(_REVIEW_UPSERT, [review_args(row) for row in folded if row is not None])


_REVIEW_UPSERT = (
    f"INSERT INTO {SCHEMA}.reviews (case_id, review_id, lscb, review_kind, method, phase, regime, plan_id, "
    "plan_version, status, opened_on, started_on, decision_event_id, stages, current_stage, t6_due, "
    "pre_decision_due, published_on, available_until, closed_on, publication_hold, members, member_ids, "
    "chronology_entries, significant_entries, parallel_processes, learning_summary_ref) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, $16, $17, $18, $19, $20, "
    "$21, $22::jsonb, $23, $24, $25, $26::jsonb, $27) "
    "ON CONFLICT (case_id) DO UPDATE SET review_id = EXCLUDED.review_id, lscb = EXCLUDED.lscb, "
    "review_kind = EXCLUDED.review_kind, method = EXCLUDED.method, phase = EXCLUDED.phase, "
    "regime = EXCLUDED.regime, plan_id = EXCLUDED.plan_id, plan_version = EXCLUDED.plan_version, "
    "status = EXCLUDED.status, opened_on = EXCLUDED.opened_on, started_on = EXCLUDED.started_on, "
    "decision_event_id = EXCLUDED.decision_event_id, stages = EXCLUDED.stages, "
    "current_stage = EXCLUDED.current_stage, t6_due = EXCLUDED.t6_due, "
    "pre_decision_due = EXCLUDED.pre_decision_due, published_on = EXCLUDED.published_on, "
    "available_until = EXCLUDED.available_until, closed_on = EXCLUDED.closed_on, "
    "publication_hold = EXCLUDED.publication_hold, members = EXCLUDED.members, "
    "member_ids = EXCLUDED.member_ids, chronology_entries = EXCLUDED.chronology_entries, "
    "significant_entries = EXCLUDED.significant_entries, parallel_processes = EXCLUDED.parallel_processes, "
    "learning_summary_ref = EXCLUDED.learning_summary_ref, updated_at = now()"
)


REVIEW_COLUMNS = (
    "case_id", "review_id", "lscb", "review_kind", "method", "phase", "regime", "plan_id", "plan_version", "status",
    "opened_on", "started_on", "decision_event_id", "stages", "current_stage", "t6_due", "pre_decision_due",
    "published_on", "available_until", "closed_on", "publication_hold", "members", "member_ids",
    "chronology_entries", "significant_entries", "parallel_processes", "learning_summary_ref",
)


def review_args(row: ReviewRow) -> tuple[Any, ...]:
    """The review row in `REVIEW_COLUMNS` order (JSON text for the jsonb columns)."""
    return (
        row.case_id,
        row.review_id,
        row.lscb,
        row.review_kind,
        row.method,
        row.phase,
        row.regime,
        row.plan_id,
        row.plan_version,
        row.status,
        row.opened_on,
        row.started_on,
        row.decision_event_id,
        jsonb_text(row.stages),
        row.current_stage,
        row.t6_due,
        row.pre_decision_due,
        row.published_on,
        row.available_until,
        row.closed_on,
        row.publication_hold,
        jsonb_text(row.members),
        row.member_ids,
        row.chronology_entries,
        row.significant_entries,
        jsonb_text(row.parallel_processes),
        row.learning_summary_ref,
    )


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
