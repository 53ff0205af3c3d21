"""What the HTTP API serves about a review: its plan and progress, groups, parallel processes and completion.

Texts are resolved from the erasable store only where a view needs them (consultation); the review view
itself is built from the events alone.
"""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from events.orchestration import Agency, Duration, DurationRange, ParallelProcessKind
from services.orchestration.state import ReviewState, StageState
from services.orchestration.texts import Texts


class OutcomeView(BaseModel):
    result: str
    agencies_present: list[Agency]
    actions_agreed: int
    has_note: bool


class MoveView(BaseModel):
    reason: str
    previous_due: date | None
    new_due: date | None


class StageView(BaseModel):
    stage_id: str
    number: int | None
    name: str
    step: str
    plan_id: str
    status: Literal["dropped", "held", "moved", "scheduled", "planned"]
    due: date | None
    overdue: bool
    duration: DurationRange | None
    scheduled_for: date | None
    planned_duration: Duration | None
    held_on: date | None
    moved: MoveView | None
    outcome: OutcomeView | None
    after: list[str]
    complete_before: list[str]
    move_reasons: list[str]


class MemberView(BaseModel):
    group: str
    member_id: str
    role: str
    agency: Agency | None
    source: str


class ParallelProcessView(BaseModel):
    link_id: UUID
    kind: ParallelProcessKind
    status: str
    started_on: date | None
    has_reference: bool


class HoldView(BaseModel):
    hold_id: UUID
    reason: str
    linked_process: UUID | None
    set_on: date
    lifted_on: date | None
    active: bool


class T6View(BaseModel):
    """Progress against T6: an SCR aims to complete (close) within six months of initiation."""

    due: date
    days_remaining: int | None
    completed_on: date | None
    breached: bool


class CompletionView(BaseModel):
    final_report_version: int | None
    learning_summary_reference_code: str | None
    published_on: date | None
    available_until: date | None
    closed_on: date | None


class ReviewView(BaseModel):
    review_id: UUID
    case_id: UUID
    lscb: str
    status: str
    phase: str
    review_kind: str
    method: str
    regime: str
    plan_id: str
    plan_version: str
    opened_on: date
    considered_for_scr: bool
    decision_event_id: UUID | None
    deadlines: dict[str, date]
    t6: T6View | None
    current_stage: str | None
    overdue_stages: list[str]
    open_pre_decision_stages: list[str] = Field(
        description="Stages 1-3 not yet held when the Chair decided: still recordable, late against T1"
    )
    stages: list[StageView]
    members: list[MemberView]
    parallel_processes: list[ParallelProcessView]
    publication_holds: list[HoldView]
    findings_version: int
    chronology_entries: int
    completion: CompletionView


def stage_view(stage: StageState, today: date) -> StageView:
    latest = stage.outcomes[-1] if stage.outcomes else None
    return StageView(
        stage_id=stage.stage_id,
        number=stage.planned.number,
        name=stage.planned.name,
        step=stage.planned.step,
        plan_id=stage.plan_id,
        status=stage.status,
        due=stage.due,
        overdue=is_overdue(stage, today),
        duration=stage.planned.duration,
        scheduled_for=stage.schedule.scheduled_for if stage.schedule else None,
        planned_duration=stage.schedule.planned_duration if stage.schedule else None,
        held_on=stage.held_on,
        moved=MoveView(**stage.moved.model_dump(include={"reason", "previous_due", "new_due"}))
        if stage.moved
        else None,
        outcome=None
        if latest is None
        else OutcomeView(
            result=latest.result,
            agencies_present=latest.agencies_present,
            actions_agreed=latest.actions_agreed,
            has_note=latest.note is not None,
        ),
        after=stage.planned.after,
        complete_before=stage.planned.complete_before,
        move_reasons=stage.planned.move_reasons,
    )


def is_overdue(stage: StageState, today: date) -> bool:
    return stage.held_on is None and not stage.dropped and stage.due is not None and today > stage.due


def t6_view(state: ReviewState, today: date) -> T6View | None:
    due = state.deadlines.get("scr_completion_due")
    if due is None:
        return None
    completed = state.closed.closed_on if state.closed else None
    return T6View(
        due=due,
        days_remaining=None if completed or not state.is_open else (due - today).days,
        completed_on=completed,
        breached=(completed > due) if completed else (state.is_open and today > due),
    )


def review_view(state: ReviewState, today: date) -> ReviewView:
    current = state.current_stage()
    late = state.open_pre_decision_stages() if state.phase == "review" else []
    open_stages = [*late, *state.current_stages()] if state.is_open else []
    return ReviewView(
        review_id=state.review_id,
        case_id=state.case_id,
        lscb=state.lscb,
        status=state.status,
        phase=state.phase,
        review_kind=state.review_kind,
        method=state.method,
        regime=state.regime,
        plan_id=state.plan_id,
        plan_version=state.plan_version,
        opened_on=state.opened_on,
        considered_for_scr=state.considered_for_scr,
        decision_event_id=state.decision_event_id,
        deadlines=state.deadlines,
        t6=t6_view(state, today),
        current_stage=current.stage_id if current and state.is_open else None,
        overdue_stages=[s.stage_id for s in open_stages if is_overdue(s, today)],
        open_pre_decision_stages=[s.stage_id for s in late],
        stages=[stage_view(s, today) for s in state.stages.values()],
        members=[
            MemberView(
                group=group, member_id=member_id, role=m.added.role, agency=m.added.agency, source=m.added.source
            )
            for (group, member_id), m in state.members.items()
        ],
        parallel_processes=[
            ParallelProcessView(
                link_id=p.link_id,
                kind=p.kind,
                status=p.status,
                started_on=p.started_on,
                has_reference=p.reference_document_id is not None,
            )
            for p in state.parallel.values()
        ],
        publication_holds=[
            HoldView(
                hold_id=h.set.hold_id,
                reason=h.set.reason,
                linked_process=h.set.linked_process,
                set_on=h.set.set_on,
                lifted_on=h.lifted_on,
                active=h.lifted_on is None,
            )
            for h in state.holds.values()
        ],
        findings_version=state.latest_findings_version(),
        chronology_entries=len(state.chronology),
        completion=CompletionView(
            final_report_version=state.final_reports[-1].version if state.final_reports else None,
            learning_summary_reference_code=state.learning_summary.reference_code if state.learning_summary else None,
            published_on=state.published.published_on if state.published else None,
            available_until=state.published.available_until if state.published else None,
            closed_on=state.closed.closed_on if state.closed else None,
        ),
    )


class ResponseView(BaseModel):
    member_id: str
    findings_version: int
    response: str
    responded_on: date
    comments: str | None
    corrections: list[str | None]


class FindingsView(BaseModel):
    version: int
    shared_on: date
    findings: str | None


class ConsultationView(BaseModel):
    """The findings shared with the Case Group and each member's responses (texts None where erased)."""

    findings: list[FindingsView]
    responses: list[ResponseView]
    awaiting: list[str]


def consultation_view(state: ReviewState, texts: Texts) -> ConsultationView:
    latest = state.latest_findings_version()
    answered = {r.member_id for r in state.responses if r.findings_version == latest}
    case_group = [member_id for (group, member_id) in state.members if group == "case_group"]
    return ConsultationView(
        findings=[
            FindingsView(version=f.version, shared_on=f.shared_on, findings=texts.read(state.lscb, f.findings))
            for f in state.findings
        ],
        responses=[
            ResponseView(
                member_id=r.member_id,
                findings_version=r.findings_version,
                response=r.response,
                responded_on=r.responded_on,
                comments=texts.read(state.lscb, r.comments),
                corrections=[texts.read(state.lscb, c) for c in r.corrections],
            )
            for r in state.responses
        ],
        awaiting=[m for m in case_group if m not in answered] if latest else [],
    )
