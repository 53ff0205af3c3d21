"""Rules a first walkthrough of a review tripped over: an early decision keeps stages 1-3, a stage's
outcome and a member's response are recorded once, and dates cannot come before the facts they follow."""

from __future__ import annotations

from datetime import date
from typing import Literal

import pytest

from events.orchestration import Duration
from services.orchestration.application import OrchestrationApplication
from services.orchestration.commands import CaseGroupResponse, StageOutcome
from services.orchestration.errors import Conflict, InvalidInput
from services.orchestration.texts import MemoryTextStore
from services.orchestration.views import review_view
from tests.orchestration_samples import BM, LEAD, TODAY, Case, Feed, Run, popo_app

HALF = Duration(amount=1, unit="half_days")
DONE = StageOutcome(result="completed", agencies_present=["police"], actions_agreed=0, note=None)


def early_decision() -> tuple[OrchestrationApplication, Case]:
    app, case = popo_app(), Case()
    feed = Feed(app)
    feed(case.recommendation())
    decision = case.decision("initiate_scr", methodology="targeted", on=date(2015, 3, 12))
    feed(decision)
    feed(case.appointment(decision, on=date(2015, 3, 13)))
    return app, case


def test_a_decision_taken_before_stages_1_to_3_leaves_them_open_and_recordable_late() -> None:
    app, case = early_decision()
    rid = case.review_id
    state = app.require(rid)
    assert state.status == "in_review"
    assert [s.stage_id for s in state.open_pre_decision_stages()] == [
        "initial_meeting",
        "spe_chronologies",
        "planning_meeting",
    ]
    assert all(state.stages[s].status == "planned" for s in ("initial_meeting", "planning_meeting"))
    view = review_view(state, TODAY)
    assert view.open_pre_decision_stages == ["initial_meeting", "spe_chronologies", "planning_meeting"]
    assert "initial_meeting" in view.overdue_stages  # late against T1, not erased
    for stage, day in (
        ("initial_meeting", date(2015, 3, 16)),
        ("spe_chronologies", date(2015, 3, 27)),
        ("planning_meeting", date(2015, 4, 2)),
    ):
        app.schedule_stage(rid, BM, stage, day, HALF)
        app.record_stage_held(rid, BM, stage, day)
        app.record_stage_outcome(rid, BM, stage, DONE)
    state = app.require(rid)
    assert [state.stages[s].status for s in ("initial_meeting", "spe_chronologies", "planning_meeting")] == [
        "held"
    ] * 3
    assert state.open_pre_decision_stages() == []
    assert app.open_pre_decision_stages(case.case_id) == []
    current = state.current_stage()
    assert current is not None and current.stage_id == "national_panel_engagement"  # the review plan goes on


def test_open_pre_decision_stages_are_what_the_decision_answer_reports() -> None:
    app, case = popo_app(), Case()
    Feed(app)(case.recommendation())
    app.record_stage_held(case.review_id, BM, "initial_meeting", date(2015, 3, 16))
    listed = app.open_pre_decision_stages(case.case_id)
    assert [s["stage_id"] for s in listed] == ["spe_chronologies", "planning_meeting"]
    assert all(s["due"] for s in listed)
    assert popo_app().open_pre_decision_stages(Case().case_id) == []


def test_a_stage_outcome_is_recorded_once() -> None:
    app, case = early_decision()
    rid = case.review_id
    app.record_stage_held(rid, BM, "initial_meeting", date(2015, 3, 16))
    app.record_stage_outcome(rid, BM, "initial_meeting", DONE)
    with pytest.raises(Conflict, match="already recorded"):
        app.record_stage_outcome(rid, BM, "initial_meeting", DONE)
    assert len(app.require(rid).stages["initial_meeting"].outcomes) == 1


def test_a_stage_cannot_be_held_before_the_date_it_was_scheduled_for() -> None:
    app, case = early_decision()
    rid = case.review_id
    app.schedule_stage(rid, BM, "initial_meeting", date(2015, 3, 16), HALF)
    with pytest.raises(InvalidInput) as refused:
        app.record_stage_held(rid, BM, "initial_meeting", date(2015, 3, 15))
    assert refused.value.field == "held_on"
    assert app.require(rid).stages["initial_meeting"].held_on is None


def consulted() -> tuple[OrchestrationApplication, Case]:
    app, case = early_decision()
    rid = case.review_id
    app.add_member(rid, BM, "case_group", "gp-1", "practitioner", "health")
    t = Run(app, case, MemoryTextStore()).pending()
    app.share_findings(rid, LEAD, t.ref("findings", "Draft"), date(2015, 8, 1), texts=t)
    return app, case


def response(
    on: date = date(2015, 8, 5), answer: Literal["agrees", "disagrees"] = "agrees"
) -> CaseGroupResponse:
    return CaseGroupResponse(
        member_id="gp-1", findings_version=1, response=answer, responded_on=on, comments=None, corrections=[]
    )


def test_a_second_response_to_the_same_findings_version_is_refused() -> None:
    app, case = consulted()
    rid = case.review_id
    app.record_case_group_response(rid, BM, response())
    with pytest.raises(Conflict, match="already responded"):
        app.record_case_group_response(rid, BM, response(answer="disagrees"))
    state = app.require(rid)
    assert [(r.member_id, r.response) for r in state.responses] == [("gp-1", "agrees")]


def test_a_response_cannot_come_before_the_findings_were_shared() -> None:
    app, case = consulted()
    with pytest.raises(InvalidInput) as refused:
        app.record_case_group_response(case.review_id, BM, response(on=date(2015, 7, 30)))
    assert refused.value.field == "responded_on"


def test_a_review_stage_cannot_be_held_or_scheduled_before_the_decision_that_started_its_plan() -> None:
    app, case = early_decision()  # decided on 2015-03-12
    rid = case.review_id
    for refused_call, field in (
        (lambda: app.record_stage_held(rid, BM, "national_panel_engagement", date(2015, 3, 11)), "held_on"),
        (lambda: app.schedule_stage(rid, BM, "national_panel_engagement", date(2015, 3, 11), HALF), "scheduled_for"),
    ):
        with pytest.raises(InvalidInput) as refused:
            refused_call()
        assert refused.value.field == field
    app.record_stage_held(rid, BM, "national_panel_engagement", date(2015, 3, 12))  # the day itself is fine
    # stages 1-3 happen before the decision: an early decision does not bound them
    app.record_stage_held(rid, BM, "initial_meeting", date(2015, 3, 11))
