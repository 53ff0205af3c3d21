"""The checks every command shares: is the review open, does the stage exist, may it happen now."""

from __future__ import annotations

from datetime import date

from services.orchestration.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    OutOfOrder,
    ReviewNotOpen,
    StageIncomplete,
)
from services.orchestration.state import ReviewState, StageState


def require_open(state: ReviewState) -> None:
    """Before or after the Chair's decision, but not stopped or closed."""
    if not state.is_open:
        raise ReviewNotOpen(f"the review is {state.status.replace('_', ' ')}: nothing more can be recorded")


def require_review(state: ReviewState, what: str) -> None:
    """A review the Chair commissioned (not only considered)."""
    require_open(state)
    if state.status != "in_review":
        raise Conflict(f"{what} needs a review the Chair has commissioned; this case awaits the Chair's decision")


def require_not_future(day: date, today: date, field: str) -> None:
    if day > today:
        raise InvalidInput(f"{field} {day} is in the future (today is {today})", field)


def require_not_before(day: date, earliest: date, field: str, what: str) -> None:
    """A date that cannot come before another fact of the review (a stage held before it was scheduled for,
    a response before the findings were shared, a hold lifted before it was set)."""
    if day < earliest:
        raise InvalidInput(f"{field} {day} is before {what} ({earliest})", field)


def stage_of_plan(state: ReviewState, stage_id: str) -> StageState:
    """A stage of the plan in force, or a pre-decision stage still open after an early decision (404 when
    the process has no such stage, 409 when it was dropped or belongs to a plan no longer in force)."""
    stage = state.stages.get(stage_id)
    if stage is None:
        known = ", ".join(s.stage_id for s in state.current_stages())
        raise NotFound(f"the plan {state.plan_id} has no stage {stage_id!r} (stages: {known})")
    if not state.recordable(stage):
        raise Conflict(f"stage {stage_id!r} is not part of the plan in force ({state.plan_id})")
    return stage


def check_order(state: ReviewState, stage: StageState, on: date) -> None:
    """Refuse a stage (or step) that would come before what the plan puts first.

    Each stage of `after` must have been held (on or before `on`) unless it was moved; every stage that
    names this one in `complete_before` must have been held, moved or not (family involvement before
    publication, T8).
    """
    for other in state.current_stages():
        if stage.stage_id in other.planned.complete_before and other.held_on is None:
            raise StageIncomplete(f"{other.planned.name} must be complete before {stage.planned.name}")
    for prerequisite_id in stage.planned.after:
        prerequisite = state.stages[prerequisite_id]
        if prerequisite.moved is not None and prerequisite.held_on is None:
            continue  # a moved stage lets later ones go first
        if prerequisite.held_on is None:
            raise OutOfOrder(f"{stage.planned.name} comes after {prerequisite.planned.name}, which has not been held")
        if prerequisite.held_on > on:
            raise OutOfOrder(
                f"{stage.planned.name} on {on} would come before {prerequisite.planned.name}"
                f" (held {prerequisite.held_on})"
            )


def check_schedule_order(state: ReviewState, stage: StageState, on: date) -> None:
    """A stage may be scheduled before its prerequisites happen, but not on a date before theirs."""
    for prerequisite_id in stage.planned.after:
        prerequisite = state.stages[prerequisite_id]
        if prerequisite.moved is not None and prerequisite.held_on is None:
            continue
        planned = prerequisite.held_on or (prerequisite.schedule.scheduled_for if prerequisite.schedule else None)
        if planned is not None and planned > on:
            raise OutOfOrder(f"{stage.planned.name} on {on} would come before {prerequisite.planned.name} ({planned})")
