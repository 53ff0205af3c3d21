"""Webhook requests as a Standard Webhooks receiver checks them: id, timestamp and signature headers."""

from __future__ import annotations

import json

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from lif.settings import OutboundSettings
from services.notifications.channels.webhook import WebhookChannel, sign
from services.notifications.directory import new_webhook_secret
from services.notifications.outbound import OutboundMessage, Recipient

MESSAGE = OutboundMessage(
    idempotency_key="evt-1:rcp-1:webhook",
    lscb="BOL",
    recipient_id="rcp-1",
    channel="webhook",
    template="reminder",
    context={"kind": "T1", "due": "2015-04-10"},
)


def channel(answer: int, seen: list[httpx.Request]) -> WebhookChannel:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(answer)

    return WebhookChannel(OutboundSettings(), transport=httpx.MockTransport(handler), clock=lambda: 1_700_000_000)


@pytest.mark.parametrize(
    ("status", "delivered", "permanent"),
    [(200, True, False), (204, True, False), (408, False, False), (429, False, False), (503, False, False),
     (400, False, True), (410, False, True)],
)
async def test_each_request_is_signed_and_the_answer_classified(status: int, delivered: bool, permanent: bool) -> None:
    secret = new_webhook_secret()
    seen: list[httpx.Request] = []
    endpoint = Recipient("rcp-1", "BOL", "webhook", "CMS", "https://x.test/h", secret)
    outcome = await channel(status, seen).send(MESSAGE, endpoint)
    assert (outcome.delivered, outcome.permanent) == (delivered, permanent)
    [request] = seen
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["webhook-id"] == MESSAGE.idempotency_key and headers["webhook-timestamp"] == "1700000000"
    body = json.loads(request.content)
    assert body["data"] == MESSAGE.context and body["type"] == "lif.reminder"
    expected = sign(secret, MESSAGE.idempotency_key, 1_700_000_000, request.content)
    assert headers["webhook-signature"] == expected


def test_standard_webhooks_accepts_our_signature_and_refuses_a_changed_body() -> None:
    import time

    secret = new_webhook_secret()
    now = int(time.time())
    body = b'{"type":"lif.reminder"}'
    signature = sign(secret, "msg-1", now, body)
    headers = {"webhook-id": "msg-1", "webhook-timestamp": str(now), "webhook-signature": signature}
    assert Webhook(secret).verify(body, headers) == {"type": "lif.reminder"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify(body, headers)


async def test_an_endpoint_without_a_secret_is_never_called() -> None:
    seen: list[httpx.Request] = []
    outcome = await channel(204, seen).send(MESSAGE, Recipient("rcp-1", "BOL", "webhook", "CMS", "https://x.test/h"))
    assert not outcome.delivered and outcome.permanent and seen == []
