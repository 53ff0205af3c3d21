"""The outbox's events as envelopes: a queued message per recipient, its failed attempts, its delivery.

Ids are deterministic (the message id, then `delivered` or `failed:<attempt>`), so recording the same
outcome twice is refused by the store rather than duplicated. No name, address or URL is ever put here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid5

from events.envelope import Actor, EventEnvelope
from events.notification_delivery import (
    ChannelName,
    NotificationDelivered,
    NotificationDeliveredPayload,
    NotificationFailed,
    NotificationFailedPayload,
    NotificationQueued,
    NotificationQueuedPayload,
    Purpose,
)
from events.notifications import ObligationBreached, ReminderDue
from services.notifications.directory import Target
from services.notifications.keys import idempotency_key, message_id
from services.notifications.learning_rules import is_learning_kind

SERVICE_ACTOR = Actor(kind="service", id="notifications", role=None)


def _envelope(
    model: type[EventEnvelope], base: dict[str, Any], event_id: UUID, actor: Actor, **fields: Any
) -> dict[str, Any]:
    now = datetime.now(UTC)
    return model(
        event_id=event_id,
        lscb=base["lscb"],
        case_id=base["case_id"],
        occurred_at=now,
        recorded_at=now,
        correlation_id=base["correlation_id"],
        causation_id=base["causation_id"],
        actor=actor,
        **fields,
    ).model_dump(mode="json")


def queued(
    *,
    lscb: str,
    case_id: UUID,
    correlation_id: UUID,
    source: str,
    source_event_id: UUID,
    target: Target,
    template: str,
    purpose: Purpose,
    context: dict[str, str],
    actor: Actor = SERVICE_ACTOR,
    panel_notice_id: UUID | None = None,
    regime: str | None = None,
) -> dict[str, Any]:
    key = idempotency_key(source, target.recipient_id, target.channel)
    mid = message_id(key)
    payload = NotificationQueuedPayload(
        message_id=mid,
        idempotency_key=key,
        recipient_id=target.recipient_id,
        channel=target.channel,
        template=template,
        purpose=purpose,
        source_event_id=source_event_id,
        context=context,
        panel_notice_id=panel_notice_id,
        regime=regime,
    )
    base = {"lscb": lscb, "case_id": case_id, "correlation_id": correlation_id, "causation_id": source_event_id}
    return _envelope(NotificationQueued, base, uuid5(mid, "queued"), actor, payload=payload)


def timer_messages(event: ReminderDue | ObligationBreached, targets: list[Target]) -> list[dict[str, Any]]:
    """One queued message per target for a timer event (a reminder or a breach's escalation)."""
    p = event.payload
    escalation = isinstance(event, ObligationBreached)
    context = {
        "lscb": event.lscb,
        # a learning recommendation's obligation names no case (its events travel under a source's id)
        "case_id": "" if is_learning_kind(p.kind) else str(event.case_id),
        "obligation_id": str(p.obligation_id),
        "kind": p.kind,
        "due": p.due.isoformat(),
        "step_id": p.step.step_id,
        "fired_for": p.fired_for.isoformat(),
        "rule_pack": p.rule_pack,
    }
    if p.review_id is not None:
        context["review_id"] = str(p.review_id)
    return [
        queued(
            lscb=event.lscb,
            case_id=event.case_id,
            correlation_id=event.correlation_id,
            source=str(event.event_id),
            source_event_id=event.event_id,
            target=target,
            template="breach_escalation" if escalation else "reminder",
            purpose="escalation" if escalation else "reminder",
            context=context,
        )
        for target in targets
    ]


def delivered(queued_envelope: dict[str, Any], attempt: int, on: date, detail: dict[str, str]) -> dict[str, Any]:
    p = queued_envelope["payload"]
    mid = UUID(p["message_id"])
    payload = NotificationDeliveredPayload(
        message_id=mid,
        idempotency_key=p["idempotency_key"],
        recipient_id=p["recipient_id"],
        channel=p["channel"],
        attempt=attempt,
        delivered_on=on,
        detail=detail,
        panel_notice_id=p.get("panel_notice_id"),
    )
    event_id = uuid5(mid, "delivered")
    return _envelope(NotificationDelivered, _base(queued_envelope), event_id, SERVICE_ACTOR, payload=payload)


def failed(
    queued_envelope: dict[str, Any], attempt: int, reason: str, *, permanent: bool, final: bool
) -> dict[str, Any]:
    p = queued_envelope["payload"]
    mid = UUID(p["message_id"])
    channel: ChannelName = p["channel"]
    payload = NotificationFailedPayload(
        message_id=mid,
        idempotency_key=p["idempotency_key"],
        recipient_id=p["recipient_id"],
        channel=channel,
        attempt=attempt,
        reason=reason[:500],
        permanent=permanent,
        final=final,
    )
    return _envelope(
        NotificationFailed, _base(queued_envelope), uuid5(mid, f"failed:{attempt}"), SERVICE_ACTOR, payload=payload
    )


def _base(queued_envelope: dict[str, Any]) -> dict[str, Any]:
    return {
        "lscb": queued_envelope["lscb"],
        "case_id": queued_envelope["case_id"],
        "correlation_id": queued_envelope["correlation_id"],
        "causation_id": queued_envelope["event_id"],
    }
