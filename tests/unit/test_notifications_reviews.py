"""A whole review's obligations from orchestration's real events (in memory): one per dated stage, T6 and T7."""

from __future__ import annotations

from datetime import date, timedelta

from services.notifications.obligations import obligation_id_for
from services.notifications.state import CaseState
from services.notifications.timers import PERIOD_ENDED
from tests.notifications_samples import Clock, Notifier
from tests.orchestration_samples import not_initiated, popo_app, recorded_events, run_scr


def _notified_of(events: list) -> tuple[Notifier, CaseState]:
    notifier = Notifier(Clock(date(2015, 3, 10)))
    for event in events:
        notifier.deliver(event)
    state = notifier.app.case_state(events[0].case_id)
    assert state is not None
    return notifier, state


def test_a_closed_scr_has_every_stage_met_or_cancelled_t6_met_and_t7_open_until_it_passes() -> None:
    app = popo_app()
    run_scr(app, "intensive")
    events = recorded_events(app)
    notifier, state = _notified_of(events)
    stages = [o for o in state.obligations.values() if o.kind == "stage_due"]
    assert len(stages) >= 10
    assert all(o.state in ("met", "cancelled") for o in stages)
    held = {e.payload.stage_id for e in events if e.event_type == "orchestration.stage_held"}
    undated = {o.ref for o in stages if o.cancelled_reason == "no_date"}
    assert {o.ref for o in stages if o.state == "met"} == held - undated
    moved = [e for e in events if e.event_type == "orchestration.stage_moved"]
    assert moved, "the sample run moves family involvement"
    family = state.obligations[obligation_id_for(state.case_id, "stage_due", moved[0].payload.stage_id)]
    if moved[0].payload.new_due is None:  # moved without a date: no due date left to remind of
        assert (family.state, family.cancelled_reason) == ("cancelled", "no_date")
    else:
        assert [m.due for m in family.history][-1] == moved[0].payload.new_due
    t6 = state.obligations[obligation_id_for(state.case_id, "T6")]
    assert t6.state == "met" and set(t6.answering_roles) == {"business_manager", "lead_reviewer"}
    t7 = state.obligations[obligation_id_for(state.case_id, "T7")]
    published = next(e for e in events if e.event_type == "orchestration.review_published")
    assert (t7.state, t7.due) == ("open", published.payload.available_until)
    assert state.review_id is not None and state.member_ids()  # a reviewer token sees the obligations

    ended = notifier.tick(t7.due + timedelta(days=1), [state.case_id])
    met = [(e.event_type, e.payload.met_by_event_type) for e in ended]
    assert met == [("notifications.obligation_met", PERIOD_ENDED)]
    assert notifier.tick(t7.due + timedelta(days=2), [state.case_id]) == []


def test_a_review_the_chair_stops_cancels_its_open_stages() -> None:
    app = popo_app()
    not_initiated(app)
    _, state = _notified_of(recorded_events(app))
    stages = [o for o in state.obligations.values() if o.kind == "stage_due"]
    assert stages and all(o.state in ("met", "cancelled") for o in stages)
    assert any(o.cancelled_reason == "review_stopped" for o in stages) or all(o.state == "met" for o in stages)
