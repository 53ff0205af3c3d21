"""What the dispatcher hands a channel, and what a channel answers: the seam between the two.

The dispatcher (which records every message as an event before sending, and each delivery or failure
after) knows nothing of SMTP or HTTP; a channel knows nothing of events or positions. A channel must be
safe to call twice with the same message: the idempotency key becomes the email's Message-ID and the
webhook's `webhook-id`, so a receiver can drop the repeat of a send whose outcome LIF did not record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

ChannelName = Literal["email", "webhook", "inbox"]


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Recipient:
    """A directory entry resolved for one send: personal data, never put in an event."""

    recipient_id: str
    lscb: str
    channel: ChannelName
    display_name: str
    address: str
    """Email address, webhook URL, or the principal name whose inbox receives the message."""
    secret: str | None = None
    """The webhook endpoint's signing secret (`whsec_...`); None for other channels."""


@dataclass(frozen=True)
class OutboundMessage:
    idempotency_key: str
    """Deterministic (obligation id + step, or the command's key): the same message always has the same key."""
    lscb: str
    recipient_id: str
    channel: ChannelName
    template: str
    """The template name, e.g. `reminder`, `breach_escalation`, `panel_notice`."""
    context: dict[str, Any]
    """What the template renders: ids, dates, kinds, links; personal details only as resolved at send time."""
    attachments: tuple[Attachment, ...] = field(default=())


@dataclass(frozen=True)
class DeliveryOutcome:
    delivered: bool
    permanent: bool = False
    """For a failure: True when retrying cannot help (address refused, 4xx from a webhook other than 408/429)."""
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    """Channel facts worth keeping: SMTP reply code, HTTP status, Message-ID (no message bodies)."""


class Channel(Protocol):
    """One way of delivering a message; `send` does one attempt and never raises for a delivery failure."""

    name: ChannelName

    async def send(self, message: OutboundMessage, recipient: Recipient) -> DeliveryOutcome: ...
