"""The outbound channels, each a small adapter behind `services.notifications.outbound.Channel`."""

from __future__ import annotations

from lif.settings import OutboundSettings
from services.notifications.channels.email import EmailChannel
from services.notifications.channels.inbox import InboxChannel
from services.notifications.channels.webhook import WebhookChannel
from services.notifications.inbox import Inbox
from services.notifications.outbound import Channel, ChannelName


def build_channels(settings: OutboundSettings, inbox: Inbox) -> dict[ChannelName, Channel]:
    """Every channel, by name: email (when an SMTP relay is configured it sends, else it fails as such),
    webhooks, and the in-app inbox. The directory resolves each recipient before a channel is called."""
    return {"email": EmailChannel(settings), "webhook": WebhookChannel(settings), "inbox": InboxChannel(inbox)}


__all__ = ["EmailChannel", "InboxChannel", "WebhookChannel", "build_channels"]
