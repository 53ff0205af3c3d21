"""Stage, group and consultation commands: each checks the review's state and builds one event.

Builders are pure (state in, event out) so the rules can be tested without storage; the application
records what they return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from events.decisioning import DocumentRef
from events.envelope import Actor
from events.orchestration import (
    Agency,
    CaseGroupResponseRecorded,
    CaseGroupResponseRecordedPayload,
    Duration,
    FindingsShared,
    FindingsSharedPayload,
    Group,
    MemberAdded,
    MemberAddedPayload,
    MemberRemoved,
    MemberRemovedPayload,
    MemberRole,
    StageHeld,
    StageHeldPayload,
    StageMoved,
    StageMovedPayload,
    StageOutcomeRecorded,
    StageOutcomeRecordedPayload,
    StageScheduled,
    StageScheduledPayload,
)
from services.orchestration.envelopes import CaseRef, new_event
from services.orchestration.errors import (
    Conflict,
    InvalidInput,
    LeadReviewerByAppointment,
    MoveNotAllowed,
    NotFound,
)
from services.orchestration.guards import (
    check_order,
    check_schedule_order,
    require_not_before,
    require_not_future,
    require_open,
    stage_of_plan,
)
from services.orchestration.state import ReviewState

GROUP_ROLES: dict[str, frozenset[str]] = {
    "review_group": frozenset({"lead_reviewer", "review_group_chair", "senior_manager", "agency_author", "adviser"}),
    "case_group": frozenset({"practitioner", "line_manager"}),
}
ROLES_WITH_AGENCY = frozenset({"senior_manager", "agency_author", "practitioner", "line_manager"})


def case_of(state: ReviewState) -> CaseRef:
    return CaseRef(state.lscb, state.case_id, state.correlation_id)


# --- stages ---------------------------------------------------------------------------------------------------


def schedule_stage(state: ReviewState, actor: Actor, stage_id: str, on: date, duration: Duration) -> StageScheduled:
    require_open(state)
    stage = stage_of_plan(state, stage_id)
    if stage.held_on is not None:
        raise Conflict(f"{stage.planned.name} was held on {stage.held_on}; it cannot be scheduled again")
    allowed = stage.planned.duration
    half_days = duration.amount * (2 if duration.unit == "days" else 1)
    if allowed is not None and (
        half_days < allowed.min_half_days or (allowed.max_half_days is not None and half_days > allowed.max_half_days)
    ):
        most = "no upper limit" if allowed.max_half_days is None else f"at most {allowed.max_half_days}"
        raise InvalidInput(
            f"{stage.planned.name} is planned for at least {allowed.min_half_days} half day(s), {most}; "
            f"{half_days} half day(s) given",
            "planned_duration",
        )
    started = state.review_started_on(stage)
    if started is not None:
        require_not_before(on, started, "scheduled_for", "the Chair's decision started this plan")
    check_schedule_order(state, stage, on)
    payload = StageScheduledPayload(stage_id=stage_id, scheduled_for=on, planned_duration=duration)
    return new_event(StageScheduled, case_of(state), payload, actor=actor)


def record_stage_held(state: ReviewState, actor: Actor, stage_id: str, held_on: date, today: date) -> StageHeld:
    require_open(state)
    stage = stage_of_plan(state, stage_id)
    if stage.planned.step != "stage":
        raise Conflict(f"{stage.planned.name} is recorded by the {stage.planned.step} command, not as a held stage")
    if stage.held_on is not None:
        raise Conflict(f"{stage.planned.name} was already held on {stage.held_on}")
    require_not_future(held_on, today, "held_on")
    started = state.review_started_on(stage)
    if started is not None:
        require_not_before(held_on, started, "held_on", "the Chair's decision started this plan")
    if stage.schedule is not None:
        planned_for = stage.schedule.scheduled_for
        require_not_before(held_on, planned_for, "held_on", f"the date {stage.planned.name} was scheduled for")
    check_order(state, stage, held_on)
    payload = StageHeldPayload(stage_id=stage_id, held_on=held_on)
    return new_event(StageHeld, case_of(state), payload, actor=actor, on=held_on)


@dataclass(frozen=True)
class StageOutcome:
    result: Literal["completed", "completed_with_actions", "incomplete"]
    agencies_present: list[Agency]
    actions_agreed: int
    note: DocumentRef | None


def record_stage_outcome(
    state: ReviewState, actor: Actor, stage_id: str, outcome: StageOutcome
) -> StageOutcomeRecorded:
    require_open(state)
    stage = stage_of_plan(state, stage_id)
    if stage.held_on is None:
        raise Conflict(f"{stage.planned.name} has not been held yet: record it held first")
    if stage.outcomes:
        raise Conflict(f"the outcome of {stage.planned.name} is already recorded ({stage.outcomes[0].result})")
    payload = StageOutcomeRecordedPayload(
        stage_id=stage_id,
        result=outcome.result,
        agencies_present=sorted(set(outcome.agencies_present)),
        actions_agreed=outcome.actions_agreed,
        note=outcome.note,
    )
    return new_event(StageOutcomeRecorded, case_of(state), payload, actor=actor)


def move_stage(
    state: ReviewState, actor: Actor, stage_id: str, reason: str, new_due: date | None, note: DocumentRef | None
) -> StageMoved:
    require_open(state)
    stage = stage_of_plan(state, stage_id)
    allowed = stage.planned.move_reasons
    if not allowed:
        raise MoveNotAllowed(f"the plan does not let {stage.planned.name} move")
    if reason not in allowed:
        raise MoveNotAllowed(f"{stage.planned.name} may move only for: {', '.join(allowed)} (not {reason!r})")
    if stage.held_on is not None:
        raise Conflict(f"{stage.planned.name} was already held on {stage.held_on}")
    payload = StageMovedPayload(stage_id=stage_id, reason=reason, previous_due=stage.due, new_due=new_due, note=note)
    return new_event(StageMoved, case_of(state), payload, actor=actor)


# --- the Review Group and the Case Group ------------------------------------------------------------------------


def add_member(
    state: ReviewState, actor: Actor, group: Group, member_id: str, role: MemberRole, agency: Agency | None
) -> MemberAdded:
    require_open(state)
    if role not in GROUP_ROLES[group]:
        raise InvalidInput(
            f"role {role!r} is not a {group.replace('_', ' ')} role ({sorted(GROUP_ROLES[group])})", "role"
        )
    if role in ROLES_WITH_AGENCY and agency is None:
        raise InvalidInput(f"a {role.replace('_', ' ')} represents an agency: give it", "agency")
    if role == "lead_reviewer" and state.review_kind == "scr":
        raise LeadReviewerByAppointment(
            "an SCR's lead reviewers join by the Chair's appointment, which checks their independence"
        )
    if state.member(group, member_id) is not None:
        raise Conflict(f"{member_id} is already a member of the {group.replace('_', ' ')}")
    payload = MemberAddedPayload(
        group=group, member_id=member_id, role=role, agency=agency, source="command", appointment_event_id=None
    )
    return new_event(MemberAdded, case_of(state), payload, actor=actor)


def remove_member(
    state: ReviewState,
    actor: Actor,
    group: Group,
    member_id: str,
    reason: Literal["left", "replaced", "added_in_error", "not_independent", "other"],
) -> MemberRemoved:
    require_open(state)
    member = state.member(group, member_id)
    if member is None:
        raise NotFound(f"{member_id} is not a member of the {group.replace('_', ' ')}")
    if member.added.source == "lead_reviewer_appointment" and state.review_kind == "scr":
        raise LeadReviewerByAppointment("an SCR's appointed lead reviewer changes only by the Chair's appointment")
    payload = MemberRemovedPayload(group=group, member_id=member_id, reason=reason)
    return new_event(MemberRemoved, case_of(state), payload, actor=actor)


# --- consultation of the Case Group on the findings ---------------------------------------------------------------


def share_findings(state: ReviewState, actor: Actor, findings: DocumentRef, shared_on: date) -> FindingsShared:
    require_open(state)
    payload = FindingsSharedPayload(version=state.latest_findings_version() + 1, findings=findings, shared_on=shared_on)
    return new_event(FindingsShared, case_of(state), payload, actor=actor, on=shared_on)


@dataclass(frozen=True)
class CaseGroupResponse:
    member_id: str
    findings_version: int
    response: Literal["agrees", "agrees_with_corrections", "disagrees", "no_response"]
    responded_on: date
    comments: DocumentRef | None
    corrections: list[DocumentRef]


def record_case_group_response(
    state: ReviewState, actor: Actor, response: CaseGroupResponse
) -> CaseGroupResponseRecorded:
    require_open(state)
    if state.member("case_group", response.member_id) is None:
        raise InvalidInput(f"{response.member_id} is not a member of the Case Group", "member_id")
    if not 1 <= response.findings_version <= state.latest_findings_version():
        shared = state.latest_findings_version()
        raise InvalidInput(
            f"findings version {response.findings_version} was not shared (latest: {shared})", "findings_version"
        )
    version = response.findings_version
    if any((r.member_id, r.findings_version) == (response.member_id, version) for r in state.responses):
        raise Conflict(
            f"{response.member_id} already responded to findings version {response.findings_version}: one response "
            "per member and version (share a new version of the findings to consult again)"
        )
    findings = state.findings[version - 1]
    shared_on = findings.shared_on
    require_not_before(response.responded_on, shared_on, "responded_on", f"findings version {version} was shared")
    if response.response == "agrees_with_corrections" and not response.corrections:
        raise InvalidInput("agrees_with_corrections needs at least one correction", "corrections")
    payload = CaseGroupResponseRecordedPayload(
        member_id=response.member_id,
        findings_version=response.findings_version,
        response=response.response,
        responded_on=response.responded_on,
        comments=response.comments,
        corrections=list(response.corrections),
    )
    return new_event(CaseGroupResponseRecorded, case_of(state), payload, actor=actor, on=response.responded_on)
