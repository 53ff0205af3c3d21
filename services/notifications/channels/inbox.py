"""The in-app inbox as a channel: delivering is storing the rendered message for its role or person."""

from __future__ import annotations

from services.notifications.channels.rendering import render
from services.notifications.directory import ROLE_INBOX_PREFIX
from services.notifications.inbox import Inbox
from services.notifications.keys import message_id
from services.notifications.outbound import ChannelName, DeliveryOutcome, OutboundMessage, Recipient


class InboxChannel:
    name: ChannelName = "inbox"

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def send(self, message: OutboundMessage, recipient: Recipient) -> DeliveryOutcome:
        texts = render(message.template, message.context)
        is_role = recipient.recipient_id.startswith(ROLE_INBOX_PREFIX)
        await self.inbox.store(
            message_id(message.idempotency_key),
            message.lscb,
            recipient.recipient_id,
            role=recipient.display_name if is_role else None,
            principal=None if is_role else recipient.address,
            template=message.template,
            subject=texts.subject,
            body=texts.text,
            context=message.context,
        )
        return DeliveryOutcome(True, detail={"inbox": recipient.recipient_id})
