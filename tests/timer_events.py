"""Timer events as the notifications timers record them (reminders and escalations), for outbox tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4, uuid5

from events.envelope import Actor
from events.notifications import ObligationBreached, ReminderDue, TimerFiredPayload, TimerStep

TIMER_NAMESPACE = UUID("1c9e5d7a-3b4f-4a2e-8d6c-0f1e2d3c4b5a")


def timer_event(
    *,
    lscb: str = "BOL",
    case_id: UUID | None = None,
    kind: str = "T1",
    due: date = date(2015, 4, 10),
    step_id: str = "before_7d",
    offset_days: int = -7,
    roles: tuple[str, ...] = ("chair", "business_manager"),
    breach: bool = False,
) -> dict[str, Any]:
    """The envelope of one `reminder_due` (or `obligation_breached`) with its deterministic id."""
    case_id = case_id or uuid4()
    obligation_id = uuid5(TIMER_NAMESPACE, f"{case_id}:{kind}")
    step = TimerStep(
        step_id=step_id,
        kind="escalation" if breach else "reminder",
        offset_days=offset_days,
        notify_roles=list(roles),
    )
    payload = TimerFiredPayload(
        obligation_id=obligation_id,
        kind=kind,
        due=due,
        step=step,
        fired_for=date.fromordinal(due.toordinal() + offset_days),
        rule_pack="nwlif-2015@1",
    )
    model = ObligationBreached if breach else ReminderDue
    now = datetime.now(UTC)
    return model(
        event_id=uuid5(obligation_id, step_id),
        lscb=lscb,
        case_id=case_id,
        occurred_at=now,
        recorded_at=now,
        correlation_id=case_id,
        causation_id=None,
        actor=Actor(kind="service", id="notifications", role=None),
        payload=payload,
    ).model_dump(mode="json")
