"""Events of the notifications service (topic `lif.notifications.v1`): obligations and their timers.

An obligation is one duty with a due date (T1, T2, T6, a review stage, the 2018 regime's deadlines...).
Its timers fire as `ReminderDue` (before or on the due date) and `ObligationBreached` (after it), each
with a deterministic event id (obligation id + step), so a restart, a replay or a second instance never
fires one twice. Who is told is named by role; the outbox resolves roles to recipients from the board's
erasable directory, so no name or address is ever in an event.
"""

from __future__ import annotations

from datetime import date
from typing import Literal
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
