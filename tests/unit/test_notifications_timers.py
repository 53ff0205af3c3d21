"""Obligations and their timers on the in-memory store: reminders, breaches, moves, the 2018 working days."""

from __future__ import annotations

from datetime import date, timedelta

from events.notifications import ObligationBreached, ReminderDue
from lif.calendar import add_working_days
from services.notifications.obligations import obligation_id_for
from services.notifications.timers import timer_event_id
from tests.notifications_samples import Clock, Notifier, panel_notified, rapid_review_held
from tests.orchestration_samples import Case

T1_DUE = date(2015, 4, 10)


def _t1_case() -> tuple[Notifier, Case]:
    notifier = Notifier(Clock(date(2015, 3, 10)))
    case = Case()
    assert notifier.deliver(case.recommendation(deadlines={"chair_decision_due": T1_DUE}))
    return notifier, case


def _steps(events: list) -> list[tuple[str, str, date]]:
    return [(e.event_type, e.payload.step.step_id, e.payload.fired_for) for e in events]


def test_t1_reminds_7_days_and_1_day_before_then_escalates_the_day_after() -> None:
    notifier, case = _t1_case()
    assert notifier.tick(T1_DUE - timedelta(days=8), [case.case_id]) == []
    week = notifier.tick(T1_DUE - timedelta(days=7), [case.case_id])
    day = notifier.tick(T1_DUE - timedelta(days=1), [case.case_id])
    breach = notifier.tick(T1_DUE + timedelta(days=1), [case.case_id])
    assert _steps(week) == [("notifications.reminder_due", "before_7d", date(2015, 4, 3))]
    assert _steps(day) == [("notifications.reminder_due", "before_1d", date(2015, 4, 9))]
    assert _steps(breach) == [("notifications.obligation_breached", "breach", date(2015, 4, 11))]
    assert isinstance(breach[0], ObligationBreached)
    assert set(breach[0].payload.step.notify_roles) == {"chair", "business_manager"}
    assert breach[0].payload.rule_pack == "nwlif-2015@1.0.0"
    oid = obligation_id_for(case.case_id, "T1")
    assert breach[0].event_id == timer_event_id(oid, "breach", date(2015, 4, 11))


def test_nothing_fires_once_the_chairs_decision_is_recorded() -> None:
    notifier, case = _t1_case()
    notifier.tick(T1_DUE - timedelta(days=7), [case.case_id])
    notifier.clock.day = date(2015, 4, 8)
    notifier.deliver(case.decision("initiate_scr", on=date(2015, 4, 8)))
    state = notifier.app.case_state(case.case_id)
    assert state is not None
    t1 = state.obligations[obligation_id_for(case.case_id, "T1")]
    met = (t1.state, t1.met_on, t1.met_by_event_type)
    assert met == ("met", date(2015, 4, 8), "decisioning.chair_decision_recorded")
    fired = [e for day in range(1, 20) for e in notifier.tick(date(2015, 4, 8) + timedelta(days=day), [case.case_id])]
    assert all(e.payload.kind != "T1" for e in fired)
    assert {e.payload.kind for e in fired} == {"T2"}  # the decision's T2 reminds on its own


def test_a_second_tick_a_replay_and_a_second_instance_record_nothing_twice() -> None:
    notifier, case = _t1_case()
    first = notifier.tick(T1_DUE - timedelta(days=1), [case.case_id])
    assert len(first) == 1
    assert notifier.tick(T1_DUE - timedelta(days=1), [case.case_id]) == []
    recommendation = case.recommendation(deadlines={"chair_decision_due": T1_DUE})
    assert notifier.deliver(recommendation)
    assert not notifier.redeliver(recommendation)  # republished at a new position: a no-op
    assert len(notifier.of_type("notifications.reminder_due")) == 1


def test_missed_days_fire_only_the_latest_step() -> None:
    notifier, case = _t1_case()
    fired = notifier.tick(T1_DUE, [case.case_id])
    assert _steps(fired) == [("notifications.reminder_due", "on_day", T1_DUE)]


def test_a_recomputed_deadline_moves_the_obligation_and_keeps_both_in_its_history() -> None:
    notifier, case = _t1_case()
    later = date(2015, 4, 20)
    assert notifier.deliver(case.recommendation(deadlines={"chair_decision_due": later}))
    state = notifier.app.case_state(case.case_id)
    assert state is not None
    t1 = state.obligations[obligation_id_for(case.case_id, "T1")]
    assert t1.due == later
    assert [m.due for m in t1.history] == [T1_DUE, later]
    assert notifier.tick(T1_DUE - timedelta(days=1), [case.case_id]) == []  # the old date no longer reminds
    assert _steps(notifier.tick(later - timedelta(days=1), [case.case_id])) == [
        ("notifications.reminder_due", "before_1d", later - timedelta(days=1))
    ]
    assert len(notifier.of_type("notifications.obligation_moved")) == 1


def test_an_obligation_already_past_when_learnt_shows_breached_and_sends_nothing() -> None:
    notifier = Notifier(Clock(date(2016, 1, 1)))
    case = Case()
    notifier.deliver(case.recommendation(deadlines={"chair_decision_due": T1_DUE}))
    assert notifier.tick(date(2016, 1, 2), [case.case_id]) == []
    state = notifier.app.case_state(case.case_id)
    assert state is not None
    assert state.obligations[obligation_id_for(case.case_id, "T1")].public_state(date(2016, 1, 2)) == "breached"


def test_a_breach_is_escalated_again_weekly_while_it_stays_open() -> None:
    notifier, case = _t1_case()
    days = [notifier.tick(T1_DUE + timedelta(days=n), [case.case_id]) for n in range(1, 16)]
    fired = [e.payload.fired_for for batch in days for e in batch]
    assert fired == [date(2015, 4, 11), date(2015, 4, 18), date(2015, 4, 25)]


def test_a_new_decision_cancels_the_earlier_decisions_unsent_t2() -> None:
    notifier, case = _t1_case()
    first = case.decision("commission_macr", on=date(2015, 4, 1))
    notifier.deliver(first)
    second = case.decision("initiate_scr", on=date(2015, 4, 5), supersedes=first.event_id)
    notifier.deliver(second)
    state = notifier.app.case_state(case.case_id)
    assert state is not None
    old = state.obligations[obligation_id_for(case.case_id, "T2", str(first.event_id))]
    new = state.obligations[obligation_id_for(case.case_id, "T2", str(second.event_id))]
    assert (old.state, old.cancelled_reason, new.state) == ("cancelled", "superseded", "open")


def test_the_2018_regimes_working_day_deadlines_skip_bank_holidays_and_are_met_by_their_commands() -> None:
    notified = date(2019, 4, 15)  # Easter 2019: Good Friday 19 April, Easter Monday 22 April
    panel_due = add_working_days(notified, 5)
    rapid_due = add_working_days(notified, 15)
    assert panel_due == date(2019, 4, 24)
    notifier = Notifier(Clock(notified))
    case = Case()
    deadlines = {"panel_notification_due": panel_due, "rapid_review_due": rapid_due}
    notifier.deliver(case.recommendation(rule_pack="cspr-2018", review_type="rapid_review", deadlines=deadlines))
    fired = {day: notifier.tick(day, [case.case_id]) for day in (date(2019, 4, 18), date(2019, 4, 22))}
    panel = [e for e in fired[date(2019, 4, 18)] if e.payload.kind == "panel_notification_due"]
    assert _steps(panel) == [("notifications.reminder_due", "before_2wd", date(2019, 4, 18))]
    assert isinstance(panel[0], ReminderDue) and panel[0].payload.step.unit == "working_days"
    assert fired[date(2019, 4, 22)] == []  # two calendar days before is a bank holiday: no reminder then
    notifier.deliver(panel_notified(case, date(2019, 4, 23), panel_due))
    notifier.deliver(rapid_review_held(case, date(2019, 5, 2), rapid_due))
    state = notifier.app.case_state(case.case_id)
    assert state is not None
    assert {o.kind: o.state for o in state.obligations.values()} == {
        "panel_notification_due": "met",
        "rapid_review_due": "met",
    }
    assert notifier.tick(date(2019, 5, 10), [case.case_id]) == []
