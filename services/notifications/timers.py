"""Durable timers: what an open obligation's schedule says is due on a day, as events with deterministic ids.

A timer is state, not a sleeping task. On each tick the service asks which obligations have a step due
(`next_fire` is indexed), and records for each the latest step occurrence not yet recorded: a reminder
while the due date has not passed, an escalation (`ObligationBreached`) after it. The event id is a uuid5 of
the obligation id, the step and the day it fires for, and the obligation's history keeps every timer it
fired, so a restart, a replay, a second tick or a second instance never records one twice. Missed days
(the service was down) fire only the latest step, not a burst of stale ones. Nothing fires for a step
due before LIF learnt of the obligation (an imported history), nor for any step of an obligation that was
already past when LIF learnt of it: those show as breached and send nothing (rules.md section 8).
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid5

from events.envelope import EventEnvelope
from events.notifications import (
    ObligationBreached,
    ObligationMet,
    ObligationMetPayload,
    ReminderDue,
    TimerFiredPayload,
)
from services.notifications.obligations import new_event
from services.notifications.schedules import Firing, KindSpec, load_schedule, next_occurrence, occurrences
from services.notifications.state import CaseState, Obligation, timer_key

TIMER_NAMESPACE = UUID("b7a1e4c2-5d3f-4a69-8e0b-2c4d6f8a1b3e")
PERIOD_ENDED = "notifications.period_ended"
"""What `met_by_event_type` names when a period (T7) ran its course."""


def timer_event_id(obligation_id: UUID, step_id: str, fired_for: date) -> UUID:
    return uuid5(TIMER_NAMESPACE, f"{obligation_id}:{step_id}:{fired_for.isoformat()}")


def _spec(obligation: Obligation) -> KindSpec:
    return load_schedule(obligation.schedule).for_kind(obligation.kind)


def _silent(obligation: Obligation) -> bool:
    """Already past when LIF learnt of it: it shows as breached, but nothing is sent."""
    return obligation.due < obligation.learnt_on


def due_timers(state: CaseState, today: date) -> list[EventEnvelope]:
    """The timer events the case's open obligations have due on `today` (none already recorded)."""
    found: list[EventEnvelope] = []
    for obligation in sorted(state.obligations.values(), key=lambda o: (o.due, str(o.obligation_id))):
        if obligation.is_open:
            found.extend(_obligation_timers(state, obligation, today))
    return found


def _obligation_timers(state: CaseState, obligation: Obligation, today: date) -> list[EventEnvelope]:
    spec = _spec(obligation)
    if spec.ends_when_due and today > obligation.due:
        return [_period_ended(state, obligation)]
    if _silent(obligation):
        return []
    eligible = [f for f in occurrences(spec, obligation.due, today) if f.on >= obligation.learnt_on]
    reminders = [f for f in eligible if f.step.kind == "reminder" and today <= obligation.due]
    escalations = [f for f in eligible if f.step.kind == "escalation" and today > obligation.due]
    events = []
    for latest in (reminders[-1:] + escalations[-1:]):
        if timer_key(latest.step.step_id, latest.on) not in obligation.fired:
            events.append(_fired(state, obligation, latest))
    return events


def _fired(state: CaseState, obligation: Obligation, firing: Firing) -> EventEnvelope:
    payload = TimerFiredPayload(
        obligation_id=obligation.obligation_id,
        kind=obligation.kind,
        due=obligation.due,
        review_id=obligation.review_id,
        step=firing.step.timer_step(),
        fired_for=firing.on,
        rule_pack=obligation.schedule,
    )
    model = ReminderDue if firing.step.kind == "reminder" else ObligationBreached
    return new_event(
        model,
        state,
        state.correlation_id,
        payload,
        on=firing.on,
        causation_id=obligation.source_event_id,
        event_id=timer_event_id(obligation.obligation_id, firing.step.step_id, firing.on),
    )


def _period_ended(state: CaseState, obligation: Obligation) -> EventEnvelope:
    ended = obligation.due + timedelta(days=1)
    payload = ObligationMetPayload(
        obligation_id=obligation.obligation_id,
        kind=obligation.kind,
        due=obligation.due,
        met_on=ended,
        met_by_event_id=timer_event_id(obligation.obligation_id, "period_ended", ended),
        met_by_event_type=PERIOD_ENDED,
    )
    return new_event(
        ObligationMet,
        state,
        state.correlation_id,
        payload,
        on=ended,
        causation_id=obligation.source_event_id,
        event_id=timer_event_id(obligation.obligation_id, "period_ended", ended),
    )


def next_fire(obligation: Obligation) -> date | None:
    """The next day a tick has something to do for this obligation (None: nothing more, ever).

    Indexed by the obligations table, so a tick reads only the obligations due, never all of them.
    """
    if not obligation.is_open:
        return None
    spec = _spec(obligation)
    if spec.ends_when_due:
        return obligation.due + timedelta(days=1)
    if _silent(obligation):
        return None
    after = max(obligation.last_fired_for or date.min, obligation.learnt_on - timedelta(days=1))
    return next_occurrence(spec, obligation.due, after)
