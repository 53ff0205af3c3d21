"""Events of the notifications outbox (topic `lif.notifications.v1`): each outbound message and its fate.

Every message is recorded (`NotificationQueued`, with its idempotency key) before anything is sent; the
dispatcher then records one `NotificationDelivered` or one or more `NotificationFailed` (attempt count and
reason). Recipients appear by directory id only: names, addresses, URLs and secrets stay in the board's
erasable recipients directory.
"""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from events.envelope import EventEnvelope
from events.fields import Line

ChannelName = Literal["email", "webhook", "inbox"]
Purpose = Literal["reminder", "escalation", "panel_notice"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NotificationQueuedPayload(_Model):
    message_id: UUID = Field(description="uuid5 of the idempotency key: the same message always has the same id")
    idempotency_key: Line = Field(description="Becomes the email's Message-ID and the webhook's webhook-id")
    recipient_id: Line = Field(description="A directory entry (`rcp-...`) or a role's inbox (`role:<role>`)")
    channel: ChannelName
    template: Line = Field(description="`reminder`, `breach_escalation` or `panel_notice`")
    purpose: Purpose
    source_event_id: UUID = Field(description="The timer event or command that caused the message")
    context: dict[Line, Line] = Field(
        default_factory=dict, description="What the template renders: ids, dates, kinds (never personal data)"
    )
    panel_notice_id: UUID | None = Field(default=None, description="The National Panel notice this message carries")
    regime: Line | None = Field(default=None, description="The rule pack of the notice's decision (panel notices)")


class NotificationQueued(EventEnvelope):
    """An outbound message was recorded; the dispatcher sends it (once, unless the documented window hits)."""

    event_type: Literal["notifications.notification_queued"] = "notifications.notification_queued"
    schema_version: Literal[1] = 1
    payload: NotificationQueuedPayload


class NotificationDeliveredPayload(_Model):
    message_id: UUID
    idempotency_key: Line
    recipient_id: Line
    channel: ChannelName
    attempt: int = Field(ge=1, description="Which attempt succeeded (1 for the first)")
    delivered_on: date = Field(description="The business date of the delivery (Europe/London)")
    detail: dict[Line, Line] = Field(
        default_factory=dict, description="Channel facts: SMTP reply, HTTP status, Message-ID (never a body)"
    )
    panel_notice_id: UUID | None = Field(default=None, description="Set when the message was a National Panel notice")


class NotificationDelivered(EventEnvelope):
    """The channel accepted the message (SMTP server queued it, webhook answered 2xx, inbox stored it)."""

    event_type: Literal["notifications.notification_delivered"] = "notifications.notification_delivered"
    schema_version: Literal[1] = 1
    payload: NotificationDeliveredPayload


class NotificationFailedPayload(_Model):
    message_id: UUID
    idempotency_key: Line
    recipient_id: Line
    channel: ChannelName
    attempt: int = Field(ge=1)
    reason: Line = Field(description="Why, without message content (e.g. `SMTP 550 mailbox unavailable`)")
    permanent: bool = Field(description="Retrying cannot help (address refused, webhook 4xx, recipient erased)")
    final: bool = Field(description="No further attempt will be made")


class NotificationFailed(EventEnvelope):
    """One delivery attempt failed; `final` says whether the dispatcher gave up."""

    event_type: Literal["notifications.notification_failed"] = "notifications.notification_failed"
    schema_version: Literal[1] = 1
    payload: NotificationFailedPayload


NOTIFICATION_DELIVERY_EVENTS: tuple[type[EventEnvelope], ...] = (
    NotificationQueued,
    NotificationDelivered,
    NotificationFailed,
)
