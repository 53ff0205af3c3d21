"""Whole reviews through every stage to publication and closure, and each refusal of the process's rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from uuid import uuid4

import pytest

from events.orchestration import Duration
from services.orchestration.commands import CaseGroupResponse
from services.orchestration.errors import (
    Conflict,
    FinalReportRequired,
    InvalidInput,
    LeadReviewerByAppointment,
    LearningSummaryRequired,
    MoveNotAllowed,
    NotFound,
    OrchestrationError,
    OutOfOrder,
    PublicationOnHold,
    ReviewNotOpen,
    StageIncomplete,
)
from services.orchestration.learning import summary_facts
from services.orchestration.state import ReviewState
from services.orchestration.texts import MemoryTextStore, Texts
from services.orchestration.views import review_view
from tests.orchestration_samples import (
    BM,
    CHAIR,
    LEAD,
    TODAY,
    Case,
    Feed,
    Run,
    learning_document,
    not_initiated,
    popo_app,
    recorded_events,
    run_macr,
    run_scr,
)

HALF = Duration(amount=1, unit="half_days")


@pytest.mark.parametrize("methodology", ["intensive", "targeted"])
def test_a_full_scr_runs_through_every_stage_to_publication_and_closure(methodology: str) -> None:
    app = popo_app()
    run = run_scr(app, methodology)
    state = app.require(run.review_id)
    assert (state.status, state.plan_id, state.method) == ("closed", f"scr_{methodology}", methodology)
    numbered = {s.planned.number: s.status for s in state.stages.values() if s.planned.number}
    assert numbered == dict.fromkeys(range(1, 13), "held")
    assert state.stages["family_involvement"].moved is not None  # moved, then held before publication
    assert state.published is not None
    assert (state.published.published_on, state.published.available_until) == (date(2016, 2, 1), date(2017, 2, 1))
    view = review_view(state, TODAY)
    assert (view.current_stage, view.overdue_stages) == (None, [])
    assert view.t6 is not None and view.t6.due == date(2015, 10, 8)
    assert (view.t6.completed_on, view.t6.breached) == (date(2016, 2, 10), True)  # the trial delayed it
    assert view.completion.learning_summary_reference_code == "BOL-SCR-2015-01"
    types = [e.event_type.removeprefix("orchestration.") for e in recorded_events(app)]
    assert types[:2] == ["review_process_opened", "review_plan_started"]
    assert types[-2:] == ["review_published", "review_closed"]


def test_a_macr_follows_the_board_method_and_closes_without_publication() -> None:
    app = popo_app()
    run = run_macr(app)
    state = app.require(run.review_id)
    assert (state.status, state.review_kind, state.plan_id) == ("closed", "macr", "macr_silp")
    assert state.published is None and state.closed is not None and state.closed.published is False
    assert state.member("review_group", "internal-reviewer") is not None  # a MACR's reviewer may be internal
    assert review_view(state, TODAY).t6 is None


def test_no_free_text_reaches_the_event_log() -> None:
    app = popo_app()
    run_scr(app)
    log = json.dumps([e.model_dump(mode="json") for e in recorded_events(app)])
    for text in (
        "Strategy meeting",
        "OP-ASH-17",
        "Draft findings",
        "Visit was on the 6th",
        "The final report",
        "nurse",
    ):
        assert text not in log


def test_replaying_the_events_rebuilds_the_same_state() -> None:
    app = popo_app()
    run = run_scr(app)
    events = [e for e in recorded_events(app) if e.case_id == run.case.case_id]
    replayed = ReviewState.opened(events[0])  # type: ignore[arg-type]
    for event in events[1:]:
        replayed.apply(event)
    assert review_view(replayed, TODAY) == review_view(app.require(run.review_id), TODAY)


# --- refusals ------------------------------------------------------------------------------------------------------


def initiated(methodology: str = "intensive") -> Run:
    app = popo_app()
    run = Run(app, Case(), MemoryTextStore())
    feed = Feed(app)
    feed(run.case.recommendation())
    decision = run.case.decision("initiate_scr", methodology=methodology)
    feed(decision)
    feed(run.case.appointment(decision))
    return run


def refused(
    error: type[OrchestrationError], call: Callable[[], object], match: str | None = None
) -> OrchestrationError:
    with pytest.raises(error, match=match) as caught:
        call()
    return caught.value


def test_a_stage_before_its_prerequisites_is_refused() -> None:
    run = initiated()
    app, rid = run.app, run.review_id
    refused(OutOfOrder, lambda: app.record_stage_held(rid, LEAD, "spe_forum", date(2015, 5, 1)), "comes after National")
    app.record_stage_held(rid, LEAD, "national_panel_engagement", date(2015, 4, 20))
    refused(OutOfOrder, lambda: app.record_stage_held(rid, LEAD, "spe_forum", date(2015, 4, 19)), "would come before")
    app.schedule_stage(rid, BM, "spe_forum", date(2015, 5, 12), Duration(amount=1, unit="days"))
    two = Duration(amount=2, unit="half_days")
    refused(
        OutOfOrder, lambda: app.schedule_stage(rid, BM, "spe_analysis", date(2015, 5, 11), two), "before Case Group"
    )
    refused(Conflict, lambda: app.record_stage_held(rid, LEAD, "publication", date(2015, 5, 1)), "publication command")


def test_family_involvement_moves_only_for_criminal_proceedings_and_then_lets_later_stages_go_first() -> None:
    run = initiated()
    app, rid = run.app, run.review_id
    for stage, day in (
        ("national_panel_engagement", 20),
        ("spe_forum", 21),
        ("information_audit", 22),
        ("spe_analysis", 23),
    ):
        app.record_stage_held(rid, LEAD, stage, date(2015, 4, day))
    refused(OutOfOrder, lambda: app.record_stage_held(rid, LEAD, "progress_report", date(2015, 5, 1)), "Family")
    refused(MoveNotAllowed, lambda: app.move_stage(rid, BM, "spe_forum", "criminal_proceedings", None, None))
    refused(MoveNotAllowed, lambda: app.move_stage(rid, BM, "family_involvement", "holidays", None, None), "only for")
    app.move_stage(rid, BM, "family_involvement", "criminal_proceedings", date(2016, 1, 31), None)
    app.record_stage_held(rid, LEAD, "progress_report", date(2015, 5, 1))
    state = app.require(rid)
    assert state.stages["family_involvement"].due == date(2016, 1, 31)
    assert state.current_stage().stage_id == "learning_workshop"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("methodology", "stage", "duration"),
    [
        ("intensive", "spe_forum", Duration(amount=1, unit="half_days")),  # Intensive forum: 1 day
        ("intensive", "spe_analysis", Duration(amount=1, unit="half_days")),  # 2+ half days
        ("targeted", "spe_forum", Duration(amount=2, unit="days")),  # up to 1 day
        ("targeted", "spe_analysis", Duration(amount=3, unit="half_days")),  # 1-2 half days
        ("targeted", "learning_workshop", Duration(amount=1, unit="half_days")),  # 1 day
    ],
)
def test_a_planned_duration_outside_the_plan_is_refused(methodology: str, stage: str, duration: Duration) -> None:
    run = initiated(methodology)
    error = refused(InvalidInput, lambda: run.app.schedule_stage(run.review_id, BM, stage, date(2015, 6, 1), duration))
    assert error.field == "planned_duration"


def test_a_stage_held_in_the_future_or_twice_or_unknown_is_refused() -> None:
    run = initiated()
    app, rid = run.app, run.review_id
    error = refused(
        InvalidInput, lambda: app.record_stage_held(rid, LEAD, "national_panel_engagement", date(2030, 1, 1))
    )
    assert error.field == "held_on"
    app.record_stage_held(rid, LEAD, "national_panel_engagement", date(2015, 4, 20))
    refused(Conflict, lambda: app.record_stage_held(rid, LEAD, "national_panel_engagement", date(2015, 4, 21)))
    refused(NotFound, lambda: app.record_stage_held(rid, LEAD, "tea_break", date(2015, 4, 21)), "tea_break")
    # a pre-decision stage left open by the decision stays recordable, in its order (late against T1)
    refused(OutOfOrder, lambda: app.record_stage_held(rid, LEAD, "planning_meeting", date(2015, 4, 21)))
    refused(Conflict, lambda: app.record_stage_outcome(rid, LEAD, "spe_forum", None), "not been held")  # type: ignore[arg-type]
    refused(NotFound, lambda: app.record_stage_held(uuid4(), LEAD, "spe_forum", date(2015, 4, 21)))


def _finish_scr_stages(run: Run) -> None:
    app, rid = run.app, run.review_id
    stages = ["national_panel_engagement", "spe_forum", "information_audit", "spe_analysis", "family_involvement"]
    stages += ["progress_report", "learning_workshop", "initial_report", "programmes_of_action"]
    for n, stage in enumerate(stages):
        app.record_stage_held(rid, LEAD, stage, date(2015, 5, 1 + n))


def test_close_needs_a_learning_summary_and_no_active_hold() -> None:
    run = initiated()
    app, rid = run.app, run.review_id
    _finish_scr_stages(run)
    t = run.pending()
    app.record_final_report(rid, LEAD, t.ref("final_report", "Report"), date(2015, 6, 1), texts=t)
    app.publish(rid, CHAIR, date(2015, 6, 10))
    refused(LearningSummaryRequired, lambda: app.close_review(rid, BM, date(2015, 6, 20)), "Learning Summary")
    t = run.pending()
    app.record_learning_summary(rid, LEAD, summary_facts(t, learning_document()), texts=t)
    hold = app.set_publication_hold(rid, BM, "inquest", None, date(2015, 6, 15))
    refused(PublicationOnHold, lambda: app.close_review(rid, BM, date(2015, 6, 20)), "inquest")
    app.lift_publication_hold(rid, CHAIR, hold.payload.hold_id, date(2015, 6, 18))  # type: ignore[attr-defined]
    app.close_review(rid, BM, date(2015, 6, 20))
    refused(ReviewNotOpen, lambda: app.set_publication_hold(rid, BM, "other", None, date(2015, 7, 1)), "closed")


def test_publication_needs_a_report_no_hold_and_family_involvement_complete() -> None:
    run = initiated()
    app, rid = run.app, run.review_id
    for n, stage in enumerate(["national_panel_engagement", "spe_forum", "information_audit", "spe_analysis"]):
        app.record_stage_held(rid, LEAD, stage, date(2015, 5, 1 + n))
    app.move_stage(rid, BM, "family_involvement", "criminal_proceedings", None, None)
    for n, stage in enumerate(["progress_report", "learning_workshop", "initial_report", "programmes_of_action"]):
        app.record_stage_held(rid, LEAD, stage, date(2015, 6, 1 + n))
    refused(FinalReportRequired, lambda: app.publish(rid, CHAIR, date(2015, 7, 1)))
    t = run.pending()
    app.record_final_report(rid, LEAD, t.ref("final_report", "Report"), date(2015, 6, 20), texts=t)
    hold = app.set_publication_hold(rid, CHAIR, "criminal_trial", None, date(2015, 6, 21))
    refused(PublicationOnHold, lambda: app.publish(rid, CHAIR, date(2015, 7, 1)), "criminal trial")
    app.lift_publication_hold(rid, CHAIR, hold.payload.hold_id, date(2015, 6, 25))  # type: ignore[attr-defined]
    refused(StageIncomplete, lambda: app.publish(rid, CHAIR, date(2015, 7, 1)), "Family and child involvement")
    app.record_stage_held(rid, LEAD, "family_involvement", date(2015, 6, 30))
    app.publish(rid, CHAIR, date(2015, 7, 1))
    refused(Conflict, lambda: app.publish(rid, CHAIR, date(2015, 7, 2)), "already published")


def test_an_scr_is_published_before_it_closes() -> None:
    run = initiated()
    app, rid = run.app, run.review_id
    _finish_scr_stages(run)
    t = run.pending()
    app.record_learning_summary(rid, LEAD, summary_facts(t, learning_document()), texts=t)
    refused(OutOfOrder, lambda: app.close_review(rid, BM, date(2015, 7, 1)), "Publication")


def test_lead_reviewers_of_an_scr_come_from_the_appointment_only() -> None:
    run = initiated()
    app, rid = run.app, run.review_id
    refused(
        LeadReviewerByAppointment, lambda: app.add_member(rid, BM, "review_group", "someone", "lead_reviewer", None)
    )
    refused(LeadReviewerByAppointment, lambda: app.remove_member(rid, BM, "review_group", LEAD.id, "left"))
    pre = popo_app()
    case = Case()
    Feed(pre)(case.recommendation())  # a case considered for an SCR keeps the rule before the decision too
    refused(
        LeadReviewerByAppointment,
        lambda: pre.add_member(case.review_id, BM, "review_group", "x", "lead_reviewer", None),
    )


def test_membership_roles_agencies_and_duplicates() -> None:
    run = initiated()
    app, rid = run.app, run.review_id
    assert (
        refused(InvalidInput, lambda: app.add_member(rid, BM, "case_group", "p", "senior_manager", "police")).field
        == "role"
    )
    assert (
        refused(InvalidInput, lambda: app.add_member(rid, BM, "case_group", "p", "practitioner", None)).field
        == "agency"
    )
    app.add_member(rid, BM, "case_group", "p", "practitioner", "police")
    refused(Conflict, lambda: app.add_member(rid, BM, "case_group", "p", "line_manager", "police"), "already")
    app.add_member(rid, BM, "review_group", "p", "senior_manager", "police")  # the other group is another membership
    app.remove_member(rid, BM, "case_group", "p", "left")
    refused(NotFound, lambda: app.remove_member(rid, BM, "case_group", "p", "left"))
    assert app.require(rid).is_member("p")


def test_consultation_responses_are_checked() -> None:
    run = initiated()
    app, rid = run.app, run.review_id
    app.add_member(rid, BM, "case_group", "hv", "practitioner", "health")
    t = run.pending()
    response = CaseGroupResponse("hv", 1, "agrees", date(2015, 8, 1), None, [])
    assert refused(InvalidInput, lambda: app.record_case_group_response(rid, BM, response)).field == "findings_version"
    app.share_findings(rid, LEAD, t.ref("findings", "v1"), date(2015, 7, 20), texts=t)
    stranger = CaseGroupResponse("nobody", 1, "agrees", date(2015, 8, 1), None, [])
    assert refused(InvalidInput, lambda: app.record_case_group_response(rid, BM, stranger)).field == "member_id"
    bare = CaseGroupResponse("hv", 1, "agrees_with_corrections", date(2015, 8, 1), None, [])
    assert refused(InvalidInput, lambda: app.record_case_group_response(rid, BM, bare)).field == "corrections"
    app.record_case_group_response(rid, BM, response)
    assert app.require(rid).responses[0].response == "agrees"


def test_a_learning_summary_with_themes_outside_the_typology_is_refused() -> None:
    run = initiated()
    document = learning_document().model_copy(
        update={
            "learning_about_the_case": learning_document().learning_about_the_case.model_copy(
                update={"themes": ["luck"]}
            )
        }
    )
    t = run.pending()
    error = refused(
        InvalidInput, lambda: run.app.record_learning_summary(run.review_id, LEAD, summary_facts(t, document), texts=t)
    )
    assert (error.field, "luck" in error.message) == ("learning_about_the_case.themes", True)
    assert run.store.rows == {}  # a refused command leaves no text behind


def test_nothing_is_recorded_on_a_review_the_chair_did_not_commission() -> None:
    app = popo_app()
    run = not_initiated(app)
    refused(ReviewNotOpen, lambda: app.add_member(run.review_id, BM, "case_group", "p", "practitioner", "police"))
    pre = popo_app()
    case = Case()
    Feed(pre)(case.recommendation())
    store = MemoryTextStore()
    t = Texts(store).pending(case.lscb, case.case_id)
    refused(Conflict, lambda: pre.record_final_report(case.review_id, LEAD, t.ref("r", "x"), date(2015, 4, 1), texts=t))
    refused(Conflict, lambda: pre.close_review(case.review_id, BM, date(2015, 4, 1)), "Chair's decision")
    assert store.rows == {}


def test_parallel_processes_and_holds() -> None:
    run = initiated()
    app, rid = run.app, run.review_id
    t = run.pending()
    linked = app.link_parallel_process(rid, BM, "dhr", t.id_only("ref", "DHR-2015-4"), None, "ongoing", texts=t)
    link_id = linked.payload.link_id  # type: ignore[attr-defined]
    assert linked.payload.reference_document_id in run.store.rows  # type: ignore[attr-defined]
    refused(Conflict, lambda: app.update_parallel_process(rid, BM, link_id, "ongoing", date(2015, 5, 1)), "already")
    refused(NotFound, lambda: app.update_parallel_process(rid, BM, uuid4(), "concluded", date(2015, 5, 1)))
    error = refused(
        InvalidInput, lambda: app.set_publication_hold(rid, BM, "criminal_trial", uuid4(), date(2015, 5, 1))
    )
    assert error.field == "linked_process"
    hold = app.set_publication_hold(rid, BM, "other", link_id, date(2015, 5, 1))
    hold_id = hold.payload.hold_id  # type: ignore[attr-defined]
    app.lift_publication_hold(rid, CHAIR, hold_id, date(2015, 5, 2))
    refused(Conflict, lambda: app.lift_publication_hold(rid, CHAIR, hold_id, date(2015, 5, 3)), "already lifted")
    view = review_view(app.require(rid), TODAY)
    assert [(p.kind, p.has_reference) for p in view.parallel_processes] == [("dhr", True)]
    assert [(h.reason, h.active) for h in view.publication_holds] == [("other", False)]


def test_overdue_stages_against_the_plan() -> None:
    run = initiated()
    state = run.app.require(run.review_id)
    view = review_view(state, date(2015, 5, 1))  # national panel engagement was due on 2015-04-22
    late = ["initial_meeting", "spe_chronologies", "planning_meeting"]  # left open by the decision, late on T1
    assert view.overdue_stages == [*late, "national_panel_engagement"]
    assert view.t6 is not None and (view.t6.days_remaining, view.t6.breached) == (160, False)
    assert review_view(state, date(2015, 4, 10)).overdue_stages == late
