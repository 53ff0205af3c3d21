"""Events of the notifications service (topic `lif.notifications.v1`): obligations and their timers.

An obligation is one duty with a due date (T1, T2, T6, a review stage, the 2018 regime's deadlines...).
Its timers fire as `ReminderDue` (before or on the due date) and `ObligationBreached` (after it), each
with a deterministic event id (obligation id + step), so a restart, a replay or a second instance never
fires one twice. Who is told is named by role; the outbox resolves roles to recipients from the board's
erasable directory, so no name or address is ever in an event.

A learning recommendation's obligation (`action_due`, `reaudit_due`) travels under the `case_id` its learning
events carry (a LIF review's case, or a forum's, audit's or legacy review's own source id, as on
`lif.learning.v1`); it is the recommendation's, and the service's views name no case for it.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from events.envelope import EventEnvelope
from events.fields import Line

Role = Line


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TimerStep(_Model):
    """One step of an obligation's reminder schedule, as the schedule (rule pack or board) defines it."""

    step_id: Line = Field(description="Unique within the schedule, e.g. `before_7d`, `on_day`, `breach_1d`")
    kind: Literal["reminder", "escalation"]
    offset_days: int = Field(description="Days relative to the due date: -7 is a week before, 1 the day after")
    unit: Literal["days", "working_days"] = Field(
        default="days", description="What `offset_days` counts: calendar days, or England's working days"
    )
    notify_roles: list[Role] = Field(description="Roles told at this step (rules.md section 3)")


class TimerFiredPayload(_Model):
    obligation_id: UUID
    kind: Line = Field(description="The obligation's kind: T1, T2, T6, stage_due, panel_notification_due, ...")
    due: date
    review_id: UUID | None = None
    step: TimerStep
    fired_for: date = Field(description="The date the step was due to fire (due + offset)")
    rule_pack: Line = Field(description="The pack (or board schedule) that set the schedule, `name@version`")


class ReminderDue(EventEnvelope):
    """A reminder step of an open obligation came due: tell the step's roles."""

    event_type: Literal["notifications.reminder_due"] = "notifications.reminder_due"
    schema_version: Literal[1] = 1
    payload: TimerFiredPayload


class ObligationBreached(EventEnvelope):
    """The due date passed with the obligation still open; an escalation step tells its roles."""

    event_type: Literal["notifications.obligation_breached"] = "notifications.obligation_breached"
    schema_version: Literal[1] = 1
    payload: TimerFiredPayload


# --- obligations: one per duty, and every move of it ---------------------------------------------------------

ObligationState = Literal["open", "met", "cancelled", "breached"]
"""`breached` is an open obligation past its due date (Europe/London); it is never recorded, always derived."""


class ObligationOpenedPayload(_Model):
    obligation_id: UUID = Field(description="Stable: uuid5 of the case, the kind and what it is for")
    kind: Line
    ref: Line = Field(description="What it is for within the case: '' (the case), a stage id, a decision id")
    due: date
    review_id: UUID | None = None
    rule_pack: Line = Field(description="The pack and version that set the due date, `name@version`")
    schedule: Line = Field(description="The reminder schedule that applies, `name@version` (pack's or board's)")
    answering_roles: list[Role] = Field(description="Who answers for it (rules.md sections 3 and 8)")
    source_event_id: UUID = Field(description="The upstream event that set the due date")
    learnt_on: date = Field(description="The day LIF learnt of it: steps due before then never fire")


class ObligationOpened(EventEnvelope):
    """A duty with a due date came into being (from a recommendation, a decision, a review plan...)."""

    event_type: Literal["notifications.obligation_opened"] = "notifications.obligation_opened"
    schema_version: Literal[1] = 1
    payload: ObligationOpenedPayload


class ObligationMovedPayload(_Model):
    obligation_id: UUID
    kind: Line
    previous_due: date
    due: date
    rule_pack: Line
    source_event_id: UUID = Field(description="The upstream event that recomputed or moved the due date")


class ObligationMoved(EventEnvelope):
    """A later event recomputed the due date; the obligation keeps both in its history."""

    event_type: Literal["notifications.obligation_moved"] = "notifications.obligation_moved"
    schema_version: Literal[1] = 1
    payload: ObligationMovedPayload


class ObligationMetPayload(_Model):
    obligation_id: UUID
    kind: Line
    due: date
    met_on: date = Field(description="The business date of the event that met it")
    met_by_event_id: UUID
    met_by_event_type: Line


class ObligationMet(EventEnvelope):
    """The event that fulfils the duty was recorded (the Chair's decision for T1, the notice sent for T2...)."""

    event_type: Literal["notifications.obligation_met"] = "notifications.obligation_met"
    schema_version: Literal[1] = 1
    payload: ObligationMetPayload


CancelReason = Literal[
    "superseded", "dropped_from_plan", "review_stopped", "review_closed", "no_date", "action_cancelled"
]
"""Version 2 added `action_cancelled` (a learning action the board cancelled); version 1 had the other five."""


class ObligationCancelledPayload(_Model):
    obligation_id: UUID
    kind: Line
    due: date
    cancelled_on: date
    reason: CancelReason
    by_event_id: UUID


class ObligationCancelled(EventEnvelope):
    """The duty no longer applies (a new decision superseded it, the plan dropped the stage, the board cancelled
    a learning action...)."""

    event_type: Literal["notifications.obligation_cancelled"] = "notifications.obligation_cancelled"
    schema_version: Literal[2] = 2
    payload: ObligationCancelledPayload


def obligation_cancelled_v1_to_v2(document: dict[str, Any]) -> dict[str, Any]:
    """Every version 1 document is a valid version 2 one: only the reasons grew."""
    return {**document, "schema_version": 2}


NOTIFICATIONS_EVENTS: tuple[type[EventEnvelope], ...] = (
    ObligationOpened,
    ObligationMoved,
    ObligationMet,
    ObligationCancelled,
    ReminderDue,
    ObligationBreached,
)
"""Every event of this topic, for the registry and the AsyncAPI document."""
