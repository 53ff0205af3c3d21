"""The pure fold behind the `reviews` row and the progress computed from it at read time:
current stage, stages overdue against the plan, progress against T6, groups, chronologies, holds."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

import pytest

from events.envelope import EventEnvelope
from projections.review_queries import review_summary, stage_overdue, t6_progress
from projections.reviews import ReviewRow, fold_review
from tests.decision_events import CaseStory
from tests.review_events import DECIDED_ON, LEAD, REFERENCE_CODE, T6_DUE, ReviewStory, intensive_scr


def fold(events: list[EventEnvelope]) -> ReviewRow:
    row = fold_review(events)
    assert row is not None
    return row


def summary(events: list[EventEnvelope], today: date) -> dict[str, Any]:
    return review_summary(asdict(fold(events)), today)


def stage(view: dict[str, Any], stage_id: str) -> dict[str, Any]:
    return next(s for s in view["stages"] if s["stage_id"] == stage_id)


# --- stages overdue against the plan ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage_fields", "live", "today", "overdue"),
    [
        ({"due": "2015-05-20"}, True, date(2015, 5, 20), False),  # due today: not yet overdue
        ({"due": "2015-05-20"}, True, date(2015, 5, 21), True),
        ({"due": "2015-05-20", "held_on": "2015-05-21"}, True, date(2015, 6, 1), False),
        # a moved stage counts against the date it was moved to (as orchestration's own view does) ...
        ({"due": "2015-05-20", "moved": "criminal_proceedings"}, True, date(2015, 6, 1), True),
        # ... and has none while moved until the reason ends
        ({"due": None, "moved": "criminal_proceedings"}, True, date(2015, 6, 1), False),
        ({"due": "2015-05-20"}, False, date(2015, 6, 1), False),  # the review stopped or closed
        ({"due": None}, True, date(2015, 6, 1), False),  # publication and closure have no date
    ],
)
def test_a_stage_is_overdue_when_past_its_due_date_and_not_held(
    stage_fields: dict[str, Any], live: bool, today: date, overdue: bool
) -> None:
    base = {"held_on": None, "moved": None}
    assert stage_overdue({**base, **stage_fields}, live, today) is overdue


def test_an_scr_in_progress_has_a_current_stage_and_overdue_stages() -> None:
    scr = intensive_scr()
    events = [*scr.until("initiated"), *scr.phases["stages"][:3]]  # national panel engagement only
    view = summary(events, date(2015, 6, 4))
    assert (view["status"], view["phase"], view["review_kind"], view["method"]) == (
        "open",
        "review",
        "scr",
        "intensive",
    )
    assert view["plan_id"] == "scr_intensive" and view["started_on"] == DECIDED_ON.isoformat()
    assert view["current_stage"] == "spe_forum"
    # spe_forum due 2015-05-20 and information_audit due 2015-06-03 are past; spe_analysis (2015-07-01) is not.
    assert view["overdue_stages"] == ["spe_forum", "information_audit"]
    assert stage(view, "national_panel_engagement")["outcome"] == "completed"
    assert stage(view, "spe_analysis")["overdue"] is False
    assert [s["stage_id"] for s in view["stages"]][:2] == ["national_panel_engagement", "spe_forum"]
    assert all(s["number"] is not None for s in view["stages"] if s["step"] == "stage")


def test_a_moved_stage_waits_its_turn_and_keeps_the_date_it_was_moved_to() -> None:
    scr = intensive_scr()
    moved = summary(scr.until("late_stages"), date(2015, 12, 1))
    family = stage(moved, "family_involvement")
    assert (family["moved"], family["plan_due"], family["due"], family["overdue"]) == (
        "criminal_proceedings",
        "2015-07-15",
        None,
        False,
    )
    assert moved["current_stage"] == "publication"  # the moved stage no longer blocks the order
    assert moved["overdue_stages"] == []
    assert moved["publication_hold"] is True

    held = summary(scr.until("trial_over"), date(2016, 1, 26))
    family = stage(held, "family_involvement")
    # Scheduling sets the date it is planned for; its due date stays the one it was moved to (none here).
    assert (family["due"], family["scheduled_for"], family["held_on"]) == (None, "2016-01-25", "2016-01-25")
    assert held["publication_hold"] is False
    assert held["parallel_processes"] == [
        {"kind": "criminal_investigation", "status": "concluded", "started_on": "2015-03-03"}
    ]


def test_publication_and_closure_are_steps_of_the_plan() -> None:
    scr = intensive_scr()
    published = summary(scr.until("published"), date(2016, 2, 5))
    assert (published["status"], published["current_stage"]) == ("published", "closure")
    assert stage(published, "publication")["held_on"] == "2016-02-01"
    assert (published["published_on"], published["available_until"]) == ("2016-02-01", "2017-02-01")

    closed = summary(scr.orchestration, date(2016, 3, 1))
    assert (closed["status"], closed["current_stage"], closed["closed_on"]) == ("closed", None, "2016-02-10")
    assert stage(closed, "closure")["held_on"] == "2016-02-10"
    assert closed["learning_summary_reference_code"] == REFERENCE_CODE
    assert all(s["held_on"] is not None for s in closed["stages"])


# --- T6 ----------------------------------------------------------------------------------------------------------


def test_t6_progress_while_the_review_runs() -> None:
    assert t6_progress(T6_DUE, DECIDED_ON, None, True, date(2015, 6, 1)) == {
        "due": "2015-10-08",
        "started_on": "2015-04-08",
        "days_in_period": 183,
        "days_elapsed": 54,
        "days_remaining": 129,
        "days_overdue": 0,
        "completed_on": None,
        "overdue": False,
    }
    on_the_day = t6_progress(T6_DUE, DECIDED_ON, None, True, T6_DUE)
    assert on_the_day is not None and (on_the_day["days_remaining"], on_the_day["overdue"]) == (0, False)
    late = t6_progress(T6_DUE, DECIDED_ON, None, True, date(2015, 10, 20))
    assert late is not None
    assert (late["days_elapsed"], late["days_remaining"], late["days_overdue"], late["overdue"]) == (195, 0, 12, True)


def test_t6_stops_at_closure_and_never_runs_for_a_stopped_review() -> None:
    closed_late = t6_progress(T6_DUE, DECIDED_ON, date(2016, 2, 10), False, date(2016, 6, 1))
    assert closed_late is not None
    assert (closed_late["days_elapsed"], closed_late["days_remaining"], closed_late["days_overdue"]) == (308, None, 125)
    assert (closed_late["completed_on"], closed_late["overdue"]) == ("2016-02-10", True)
    in_time = t6_progress(T6_DUE, DECIDED_ON, date(2015, 10, 1), False, date(2016, 6, 1))
    assert in_time is not None and in_time["overdue"] is False and in_time["days_overdue"] == 0
    stopped = t6_progress(T6_DUE, DECIDED_ON, None, False, date(2016, 6, 1))
    assert stopped is not None and stopped["overdue"] is False
    assert t6_progress(None, DECIDED_ON, None, True, date(2016, 6, 1)) is None


def test_the_pre_decision_phase_has_no_t6_but_its_t1_due_date() -> None:
    scr = intensive_scr()
    view = summary(scr.phases["pre_decision"], date(2015, 4, 5))
    assert (view["phase"], view["method"], view["plan_id"]) == ("pre_decision", "pre_decision", "pre_decision")
    assert (view["t6"], view["pre_decision_due"], view["current_stage"]) == (None, "2015-04-10", None)
    assert [s["number"] for s in view["stages"]] == [1, 2, 3]
    assert view["decision_event_id"] is None
    initiated = summary(scr.until("initiated"), date(2015, 4, 9))
    assert initiated["t6"]["due"] == T6_DUE.isoformat() and initiated["pre_decision_due"] == "2015-04-10"
    assert initiated["decision_event_id"] == str(scr.upstream[2].event_id)


# --- groups, chronologies, the fold itself --------------------------------------------------------------------


def test_members_chronology_entries_and_processes_are_counted() -> None:
    scr = intensive_scr()
    row = fold(scr.until("initiated"))
    assert row.members == {"review_group": 1, "case_group": 1}  # one Case Group member left again
    assert row.member_ids == ["health-visitor-7", LEAD]
    # Two entries; the one submitted as not significant was corrected to significant.
    assert (row.chronology_entries, row.significant_entries) == (2, 2)
    assert row.publication_hold is True
    assert fold(scr.phases["pre_decision"]).significant_entries == 1


def test_duplicates_and_events_of_other_services_change_nothing() -> None:
    scr = intensive_scr()
    once = fold(scr.orchestration)
    again = fold([*scr.events, *scr.orchestration[::3]])
    assert asdict(again) == asdict(once)
    # The read model orders a case's stored events by record time; the story records them in log order.
    assert asdict(fold(sorted(scr.orchestration, key=lambda e: e.recorded_at))) == asdict(once)
    assert (once.chronology_entries, once.significant_entries) == (2, 2)


def test_nothing_before_the_process_is_opened() -> None:
    scr = intensive_scr()
    assert fold_review(scr.upstream) is None
    assert fold_review(scr.orchestration[1:]) is None  # the opening always comes first on the topic


def test_a_process_the_chair_stopped_is_not_initiated_and_never_overdue() -> None:
    case = CaseStory()
    review = ReviewStory(case)
    rec = case.recommendation()
    decision = case.decision(rec, "no_review", date(2015, 4, 8), rationale="No learning.")
    events = [
        review.opened(date(2015, 3, 10), rec),
        review.pre_decision(date(2015, 3, 10), date(2015, 4, 10)),
        review.not_initiated(decision, ["spe_chronologies", "planning_meeting"]),
    ]
    view = summary(events, date(2015, 6, 1))
    assert (view["status"], view["current_stage"], view["overdue_stages"], view["t6"]) == (
        "not_initiated",
        None,
        [],
        None,
    )
    assert view["decision_event_id"] == str(decision.event_id)


def test_a_macr_closes_without_publication() -> None:
    case = CaseStory()
    review = ReviewStory(case)
    rec = case.recommendation()
    decision = case.decision(rec, "commission_macr", date(2015, 4, 8), rationale="A MACR will do.")
    events = [review.opened(date(2015, 4, 8), decision), review.macr(decision)]
    view = summary(events, date(2015, 4, 30))
    assert (view["review_kind"], view["method"], view["t6"], view["current_stage"]) == (
        "macr",
        "silp",
        None,
        "scoping_meeting",
    )
    assert view["overdue_stages"] == ["scoping_meeting"]  # due 14 days after the decision
    closed = summary([*events, review.closed(date(2015, 8, 20), "BOL-MACR-2015-02", published=False)], date(2016, 1, 1))
    assert (closed["status"], closed["current_stage"], closed["overdue_stages"]) == ("closed", None, [])
    assert stage(closed, "publication")["held_on"] is None and closed["published_on"] is None
