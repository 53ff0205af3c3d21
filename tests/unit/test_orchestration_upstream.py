"""How orchestration answers decisioning: processes opened, plans started and stopped, and idempotent handling."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from events.decisioning import LearningThemesTagged, LearningThemesTaggedPayload
from events.orchestration import MemberAdded, ReviewNotInitiated, ReviewPlanStarted, ReviewProcessOpened
from lif.delivery.delivered import Delivered
from services.orchestration.domain import review_id_for
from services.orchestration.plans import UnknownPlanSet
from tests.orchestration_samples import BM, Case, Feed, popo_app, recorded_events, run_macr


def test_a_statutory_recommendation_opens_the_pre_decision_stages_inside_t1() -> None:
    app, case = popo_app(), Case()
    rec = case.recommendation()
    assert Feed(app)(rec) is True
    opened, plan = recorded_events(app)
    assert isinstance(opened, ReviewProcessOpened) and isinstance(plan, ReviewPlanStarted)
    assert opened.payload.review_id == review_id_for(case.case_id)
    assert (opened.payload.trigger, opened.payload.considered_for_scr, opened.payload.regime) == (
        "statutory_recommendation",
        True,
        "nwlif-2015",
    )
    for event in (opened, plan):  # the envelope of the upstream event, with orchestration as the actor
        assert (event.lscb, event.case_id, event.correlation_id) == (case.lscb, case.case_id, case.correlation_id)
        assert event.causation_id == rec.event_id
        assert (event.actor.kind, event.actor.id) == ("service", "orchestration")
    assert plan.payload.deadlines == {"pre_decision_due": date(2015, 4, 10)}
    assert [s.stage_id for s in plan.payload.stages] == ["initial_meeting", "spe_chronologies", "planning_meeting"]
    assert all(s.due is not None and s.due <= date(2015, 4, 10) for s in plan.payload.stages)
    state = app.require(case.review_id)
    assert (state.status, state.current_stage().stage_id) == ("pre_decision", "initial_meeting")  # type: ignore[union-attr]


def test_a_recommendation_below_the_test_opens_nothing_but_a_later_referral_uses_its_deadline_and_regime() -> None:
    app, case, feed = popo_app(), Case(), None
    feed = Feed(app)
    deadlines = {"panel_notification_due": date(2019, 4, 23), "rapid_review_due": date(2019, 5, 8)}
    assert feed(case.recommendation(statutory=False, rule_pack="cspr-2018", deadlines=deadlines)) is False
    assert app.review_for_case(case.case_id) is None
    assert feed(case.referral(on=date(2019, 4, 20))) is True
    state = app.require(case.review_id)
    assert (state.regime, state.deadlines) == ("cspr-2018", {"pre_decision_due": date(2019, 5, 8)})
    assert recorded_events(app)[0].payload.trigger == "scr_panel_referral"  # type: ignore[attr-defined]


def test_a_referral_without_a_known_recommendation_gives_a_month_from_the_referral() -> None:
    app, case = popo_app(), Case()
    Feed(app)(case.referral(on=date(2015, 1, 31)))
    state = app.require(case.review_id)
    assert (state.regime, state.deadlines) == ("nwlif-2015", {"pre_decision_due": date(2015, 2, 28)})


def test_the_same_position_twice_and_the_same_event_at_a_new_position_change_nothing() -> None:
    app, case = popo_app(), Case()
    rec = case.recommendation()
    assert app.handle(Delivered("kafka:lif.decisioning.v1:0", 7, rec)) is True
    before = len(recorded_events(app))
    assert app.handle(Delivered("kafka:lif.decisioning.v1:0", 7, rec)) is False
    assert app.handle(Delivered("kafka:lif.decisioning.v1:0", 8, rec)) is False  # republished by a relay
    assert app.handle(Delivered("log:decisioning", 1, rec)) is False  # or read from the log instead
    assert len(recorded_events(app)) == before == 2
    assert app.position("kafka:lif.decisioning.v1:0") == 8
    assert app.position("log:decisioning") == 1


def test_events_it_does_not_consume_only_advance_the_position() -> None:
    app, case = popo_app(), Case()
    tagged = LearningThemesTagged(
        **case.referral().model_dump(exclude={"event_type", "schema_version", "payload"}),
        payload=LearningThemesTaggedPayload(themes=["human_judgement"], typology="t", typology_version="1"),
    )
    assert app.handle(Delivered("log:intake", 3, tagged)) is False
    assert app.position("log:intake") == 3
    assert recorded_events(app) == []


def test_initiating_an_scr_continues_with_its_methodology_and_t6() -> None:
    app, case = popo_app(), Case()
    feed = Feed(app)
    feed(case.recommendation())
    app.record_stage_held(case.review_id, BM, "initial_meeting", date(2015, 3, 16))
    assert feed(case.decision("initiate_scr", methodology="targeted", on=date(2015, 4, 8))) is True
    started = recorded_events(app)[-1]
    assert isinstance(started, ReviewPlanStarted)
    p = started.payload
    assert (p.phase, p.review_kind, p.method, p.plan_id) == ("review", "scr", "targeted", "scr_targeted")
    assert p.deadlines == {"scr_completion_due": date(2015, 10, 8)}
    assert (p.replaces_plan, p.dropped_stages) == ("pre_decision", [])  # stages 1-3 are never dropped
    state = app.require(case.review_id)
    assert state.status == "in_review"
    assert state.stages["initial_meeting"].status == "held"  # history stays
    assert state.stages["planning_meeting"].status == "planned"
    assert [s.stage_id for s in state.open_pre_decision_stages()] == ["spe_chronologies", "planning_meeting"]
    assert state.current_stage().stage_id == "national_panel_engagement"  # type: ignore[union-attr]


def test_a_superseding_methodology_keeps_t6_and_the_progress_on_shared_stages() -> None:
    app, case = popo_app(), Case()
    feed = Feed(app)
    first = case.decision("initiate_scr", methodology="intensive", on=date(2015, 4, 8))
    feed(first)
    app.record_stage_held(case.review_id, BM, "national_panel_engagement", date(2015, 4, 20))
    assert feed(case.decision("initiate_scr", methodology="targeted", on=date(2015, 5, 1), supersedes=first.event_id))
    state = app.require(case.review_id)
    assert (state.plan_id, state.deadlines) == ("scr_targeted", {"scr_completion_due": date(2015, 10, 8)})
    assert state.stages["national_panel_engagement"].held_on == date(2015, 4, 20)
    count = len(recorded_events(app))
    assert feed(case.decision("initiate_scr", methodology="targeted", on=date(2015, 5, 2))) is False  # in force
    assert len(recorded_events(app)) == count


def test_no_review_stops_the_pre_decision_process_and_a_later_scr_restarts_it() -> None:
    app, case = popo_app(), Case()
    feed = Feed(app)
    feed(case.recommendation())
    no = case.decision("no_review", on=date(2015, 4, 8))
    assert feed(no) is True
    stopped = recorded_events(app)[-1]
    assert isinstance(stopped, ReviewNotInitiated)
    assert (stopped.payload.decision, stopped.payload.ended_plan) == ("no_review", "pre_decision")
    assert app.require(case.review_id).status == "not_initiated"
    # peer challenge: a discretionary SCR supersedes the decision
    assert feed(case.decision("initiate_scr", methodology="targeted", on=date(2015, 5, 5), supersedes=no.event_id))
    state = app.require(case.review_id)
    assert (state.status, state.plan_id) == ("in_review", "scr_targeted")


@pytest.mark.parametrize("decision", ["no_review", "propose_forum", "embedding_review"])
def test_decisions_without_a_review_open_nothing(decision: str) -> None:
    app, case = popo_app(), Case()
    assert Feed(app)(case.decision(decision, considered=False)) is False  # type: ignore[arg-type]
    assert app.review_for_case(case.case_id) is None


def test_a_running_review_superseded_by_no_review_stops(tmp_path: Path) -> None:
    app, case = popo_app(), Case()
    feed = Feed(app)
    first = case.decision("commission_macr", considered=False)
    feed(first)
    feed(case.decision("embedding_review", supersedes=first.event_id))
    state = app.require(case.review_id)
    assert state.status == "not_initiated"
    assert all(s.dropped for s in state.stages.values())


def test_macr_and_iar_follow_the_boards_method(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    boards = tmp_path / "boards.json"
    boards.write_text(
        json.dumps({"boards": [{"code": "BOL", "name": "Bolton", "review_methods": {"macr": "concise_systems"}}]})
    )
    monkeypatch.setenv("LIF_BOARDS_FILE", str(boards))
    app = popo_app()
    macr, iar = Case(), Case()
    Feed(app)(macr.decision("commission_macr", considered=False))
    Feed(app, "log:other")(iar.decision("request_iar", considered=False))
    assert app.require(macr.review_id).plan_id == "macr_concise_systems"
    assert app.require(iar.review_id).plan_id == "iar_individual_management_review"
    opened = recorded_events(app)[0]
    assert (opened.payload.trigger, opened.payload.considered_for_scr) == ("chair_decision", False)  # type: ignore[attr-defined]


def test_a_lead_reviewers_appointment_joins_the_review_group_once() -> None:
    app, case = popo_app(), Case()
    feed = Feed(app)
    decision = case.decision("initiate_scr")
    feed(decision)
    assert feed(case.appointment(decision, "reviewer-9")) is True
    assert feed(case.appointment(decision, "reviewer-9")) is False  # a second appointment of the same reviewer
    added = [e for e in recorded_events(app) if isinstance(e, MemberAdded)]
    assert len(added) == 1
    p = added[0].payload
    assert (p.group, p.member_id, p.role, p.agency, p.source) == (
        "review_group",
        "reviewer-9",
        "lead_reviewer",
        None,
        "lead_reviewer_appointment",
    )


def test_an_appointment_or_decision_for_a_closed_review_changes_nothing() -> None:
    app = popo_app()
    run = run_macr(app)
    feed = Feed(app, "log:late")
    count = len(recorded_events(app))
    decision = run.case.decision("initiate_scr")
    assert feed(decision) is False
    assert feed(run.case.appointment(decision)) is False
    assert len(recorded_events(app)) == count
    assert app.require(run.review_id).status == "closed"


def test_a_decision_under_a_regime_without_plans_is_refused_and_records_nothing() -> None:
    app, case = popo_app(), Case()
    feed = Feed(app)
    with pytest.raises(UnknownPlanSet):
        feed(case.decision("initiate_scr", rule_pack="cspr-2023"))
    assert recorded_events(app) == []
    assert app.position(feed.key) == 0


def test_an_event_racing_a_command_on_the_same_review_is_handled_again_not_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, case = popo_app(), Case()
    feed = Feed(app)
    decision = case.decision("initiate_scr")
    feed(decision)
    stale = app._process(case.review_id)  # read by the consumer before a person's command is saved
    app.record_stage_held(case.review_id, BM, "national_panel_engagement", date(2015, 4, 20))
    real = app._process
    reads = iter([stale])
    monkeypatch.setattr(app, "_process", lambda review_id: next(reads, None) or real(review_id))
    assert feed(case.appointment(decision)) is True
    state = app.require(case.review_id)
    assert state.member("review_group", "reviewer-0042") is not None
    assert state.stages["national_panel_engagement"].held_on == date(2015, 4, 20)
    assert app.position(feed.key) == 2


def test_a_macr_that_becomes_an_scr_keeps_only_appointed_lead_reviewers() -> None:
    app, case = popo_app(), Case()
    feed = Feed(app)
    macr = case.decision("commission_macr", considered=False)
    feed(macr)
    app.add_member(case.review_id, BM, "review_group", "internal-lead", "lead_reviewer", "local_authority")
    app.add_member(case.review_id, BM, "review_group", "police-manager", "senior_manager", "police")
    scr = case.decision("initiate_scr", methodology="targeted", on=date(2015, 5, 1), supersedes=macr.event_id)
    feed(scr)
    feed(case.appointment(scr, "independent-lead"))
    state = app.require(case.review_id)
    assert state.plan_id == "scr_targeted"
    assert {member_id: m.added.role for (_, member_id), m in state.members.items()} == {
        "police-manager": "senior_manager",
        "independent-lead": "lead_reviewer",
    }
    removed = [e for e in recorded_events(app) if e.event_type == "orchestration.member_removed"]
    assert [(e.payload.member_id, e.payload.reason) for e in removed] == [("internal-lead", "not_independent")]  # type: ignore[attr-defined]
