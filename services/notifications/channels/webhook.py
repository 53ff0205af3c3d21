"""Webhooks for case-management systems, signed per the Standard Webhooks scheme.

Each request carries `webhook-id` (the message's idempotency key, the same on every attempt, so the
receiver can drop a repeat), `webhook-timestamp` (seconds) and `webhook-signature`: `v1,` and the base64
HMAC-SHA256 of `id.timestamp.body` under the endpoint's secret (`whsec_` + base64). A 2xx answer is a
delivery; 408, 429 and 5xx answers and network errors may pass; any other answer is permanent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import httpx

from lif.settings import OutboundSettings
from services.notifications.outbound import ChannelName, DeliveryOutcome, OutboundMessage, Recipient

RETRYABLE_STATUSES = frozenset({408, 429})


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one request."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def webhook_body(message: OutboundMessage) -> bytes:
    """The JSON a receiver gets: the message's kind, board and context (ids and dates only)."""
    document = {
        "type": f"lif.{message.template}",
        "idempotency_key": message.idempotency_key,
        "lscb": message.lscb,
        "recipient_id": message.recipient_id,
        "data": message.context,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


class WebhookChannel:
    name: ChannelName = "webhook"

    def __init__(
        self,
        settings: OutboundSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = httpx.AsyncClient(timeout=settings.webhook_timeout, transport=transport)
        self.clock = clock

    async def send(self, message: OutboundMessage, recipient: Recipient) -> DeliveryOutcome:
        if not recipient.secret:
            return DeliveryOutcome(False, permanent=True, reason="the webhook endpoint has no signing secret")
        body = webhook_body(message)
        timestamp = int(self.clock())
        headers = {
            "content-type": "application/json",
            "webhook-id": message.idempotency_key,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(recipient.secret, message.idempotency_key, timestamp, body),
        }
        try:
            answer = await self.client.post(recipient.address, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return DeliveryOutcome(False, permanent=False, reason=f"webhook unreachable: {type(exc).__name__}")
        if 200 <= answer.status_code < 300:
            return DeliveryOutcome(True, detail={"http_status": str(answer.status_code)})
        permanent = answer.status_code < 500 and answer.status_code not in RETRYABLE_STATUSES
        status = str(answer.status_code)
        reason = f"webhook answered {status}"
        return DeliveryOutcome(False, permanent=permanent, reason=reason, detail={"http_status": status})

    async def close(self) -> None:
        await self.client.aclose()
