"""Decisioning's notes of orchestration's events give the open pre-decision stages orchestration itself gives.

The Chair's decision answers with them (`open_stages`) in both runtimes from decisioning's own store: fed
orchestration's events one by one, decisioning must agree with orchestration's own fold after every event,
and an event delivered twice (a republication at a new position) changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from events.envelope import EventEnvelope
from events.orchestration import ReviewProcessOpened
from lif.delivery.delivered import Delivered
from services.decisioning.application import DecisioningApplication
from services.orchestration.application import OrchestrationApplication
from services.orchestration.domain import review_id_for
from services.orchestration.state import ReviewState
from tests.orchestration_samples import (
    BM,
    Case,
    Feed,
    MemoryTextStore,
    Run,
    not_initiated,
    popo_app,
    recorded_events,
    run_macr,
    run_scr,
)


def decided_early(app: OrchestrationApplication) -> Run:
    """Considered for an SCR, stage 1 held, the Chair initiates before stages 2 and 3, which are held late."""
    run = Run(app, Case(), MemoryTextStore())
    feed, rid = Feed(app), review_id_for(run.case.case_id)
    feed(run.case.recommendation())
    app.record_stage_held(rid, BM, "initial_meeting", date(2015, 3, 16))
    feed(run.case.decision("initiate_scr", methodology="targeted"))
    app.record_stage_held(rid, BM, "spe_chronologies", date(2015, 4, 20))
    app.record_stage_held(rid, BM, "planning_meeting", date(2015, 4, 21))
    return run


def orchestrations_answer(events: list[EventEnvelope]) -> list[dict[str, str | None]]:
    """Orchestration's own open pre-decision stages after `events` (as its application answers)."""
    opened = next(e for e in events if isinstance(e, ReviewProcessOpened))
    state = ReviewState.opened(opened)
    for event in events[events.index(opened) + 1 :]:
        state.apply(event)
    return [
        {"stage_id": s.stage_id, "name": s.planned.name, "due": s.due.isoformat() if s.due else None}
        for s in state.open_pre_decision_stages()
    ]


@pytest.mark.parametrize("journey", [run_scr, run_macr, not_initiated, decided_early])
def test_decisioning_agrees_with_orchestration_after_every_event(
    journey: Callable[[OrchestrationApplication], Run],
) -> None:
    orchestration = popo_app()
    run = journey(orchestration)
    events = recorded_events(orchestration)
    assert events, "the journey recorded nothing"
    decisioning = DecisioningApplication(env={})
    case_id = run.case.case_id
    answers = []
    for position, event in enumerate(events, start=1):
        decisioning.handle(Delivered("orchestration", position, event))
        if any(isinstance(e, ReviewProcessOpened) for e in events[:position]):
            expected = orchestrations_answer(events[:position])
        else:
            expected = []
        answers.append(expected)
        assert decisioning.open_pre_decision_stages(case_id) == expected, f"after {event.event_type}"
    assert orchestration.open_pre_decision_stages(case_id) == answers[-1]


def test_an_early_decision_leaves_the_stages_not_held_open_until_they_are_held() -> None:
    orchestration = popo_app()
    run = decided_early(orchestration)
    events = recorded_events(orchestration)
    decisioning = DecisioningApplication(env={})
    decision_plan = next(
        i for i, e in enumerate(events) if e.event_type == "orchestration.review_plan_started" and i > 2
    )
    for position, event in enumerate(events[: decision_plan + 1], start=1):
        decisioning.handle(Delivered("orchestration", position, event))
    still_open = [s["stage_id"] for s in decisioning.open_pre_decision_stages(run.case.case_id)]
    assert still_open == ["spe_chronologies", "planning_meeting"]
    for position, event in enumerate(events[decision_plan + 1 :], start=decision_plan + 2):
        decisioning.handle(Delivered("orchestration", position, event))
    assert decisioning.open_pre_decision_stages(run.case.case_id) == []


def test_an_event_delivered_again_at_a_new_position_changes_nothing() -> None:
    """The pre-decision plan republished after the Chair decided no review must not reopen its stages."""
    orchestration = popo_app()
    run = not_initiated(orchestration)
    events = recorded_events(orchestration)
    decisioning = DecisioningApplication(env={})
    pre_decision_plan = next(e for e in events if e.event_type == "orchestration.review_plan_started")
    for position, event in enumerate(events, start=1):
        decisioning.handle(Delivered("orchestration", position, event))
    assert decisioning.open_pre_decision_stages(run.case.case_id) == []
    assert decisioning.handle(Delivered("orchestration", len(events) + 1, pre_decision_plan)) is False
    assert decisioning.open_pre_decision_stages(run.case.case_id) == []


def test_a_case_orchestration_never_opened_a_review_for_has_no_open_stages() -> None:
    decisioning = DecisioningApplication(env={})
    assert decisioning.open_pre_decision_stages(Case().case_id) == []
