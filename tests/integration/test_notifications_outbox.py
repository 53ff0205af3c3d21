"""The notifications outbox on a real PostgreSQL, a real SMTP server and a real webhook receiver.

Timer events go through the shared delivery plumbing (a `Parking`), become one queued message per
recipient and channel, and the dispatch workers deliver them: email with a Message-ID derived from the
idempotency key, webhooks whose signature `standardwebhooks` verifies, the inbox read over HTTP. A
republished event, a second dispatch and a fresh process send nothing more; failures are retried and
every attempt is visible.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest

from lif.auth import Authenticator, Role, TokenStore
from lif.composition import build_service_app
from lif.delivery.log import read_log
from lif.delivery.parking import Pending
from lif.notifications_outbox import OutboxService, build_outbox_service
from lif.settings import OutboundSettings
from services.notifications.channels.email import message_id_for
from services.notifications.outbox.dispatch import RetryPolicy
from tests.databases import fresh_database
from tests.mailbox import Mailbox, WebhookReceiver, smtp_server, webhook_receiver
from tests.timer_events import timer_event

pytestmark = [pytest.mark.integration]
ADMIN = "outbox-test-admin-token"
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 bytes in base64, as Standard Webhooks' examples
DOMAIN = "lif.test"


@dataclass
class World:
    url: str
    service: OutboxService
    settings: OutboundSettings
    mailbox: Mailbox
    hooks: WebhookReceiver
    client: httpx.AsyncClient
    tokens: dict[str, str]
    position: int = 0

    async def deliver(self, envelope: dict[str, Any], position: int | None = None) -> None:
        """Hand a timer event to the outbox through its parking, as a follower of the timers' log does."""
        self.position += 1
        parking = self.service.parking()
        await parking.deliver_many([Pending("log:notifications", position or self.position, envelope)])

    def log(self) -> list[dict[str, Any]]:
        return [item.envelope for item in read_log(self.service.outbox, 0, 10_000)]

    def of_type(self, suffix: str) -> list[dict[str, Any]]:
        return [e for e in self.log() if e["event_type"] == f"notifications.{suffix}"]

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
def servers() -> Iterator[tuple[Mailbox, int, WebhookReceiver]]:
    with smtp_server() as (mailbox, port), webhook_receiver(SECRET, answers=[503, 503]) as hooks:
        yield mailbox, port, hooks


@pytest.fixture
async def world(database_url: str, servers: tuple[Mailbox, int, WebhookReceiver]) -> AsyncIterator[World]:
    mailbox, port, hooks = servers
    url = await fresh_database(database_url, "outbox")
    settings = OutboundSettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        mail_from="LIF <lif@lif.test>",
        message_id_domain=DOMAIN,
        public_url="https://lif.example",
    )
    service = await build_outbox_service(url, settings, None, policy=RetryPolicy(attempts=3, first_delay=0.01))
    store = TokenStore(service.pool)
    tokens = {"admin": ADMIN}
    for who, role, scope in [
        ("chair", Role.CHAIR, "BOL"),
        ("manager", Role.BUSINESS_MANAGER, "BOL"),
        ("auditor", Role.AUDITOR, "BOL"),
        ("wigan_chair", Role.CHAIR, "WGN"),
        ("wigan_manager", Role.BUSINESS_MANAGER, "WGN"),
    ]:
        tokens[who], _ = await store.create(role, scope, who)
    app = build_service_app(
        service.routers(), pool=service.pool, authenticator=Authenticator(store, ADMIN), consumer_schemas={}
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lif") as client:
        yield World(url, service, settings, mailbox, hooks, client, tokens)
    await service.stop()


async def add(world: World, who: str, **body: Any) -> httpx.Response:
    return await world.client.post("/v1/notifications/recipients", json=body, headers=world.as_(who))


async def board_directory(world: World) -> dict[str, str]:
    """Bolton's chair by email, its business manager by webhook and by name in the inbox; Wigan's chair."""
    ids = {}
    for name, body in {
        "chair_email": {"channel": "email", "display_name": "Pat Chair", "address": "pat.chair@bolton.test",
                        "roles": ["chair"]},
        "manager_hook": {"channel": "webhook", "display_name": "Bolton CMS", "address": world.hooks.url,
                         "roles": ["business_manager"]},
        "manager_inbox": {"channel": "inbox", "display_name": "Jo Manager", "address": "manager",
                          "roles": ["business_manager"]},
    }.items():
        answer = await add(world, "manager", lscb="BOL", **body)
        assert answer.status_code == 201, answer.text
        ids[name] = answer.json()["recipient_id"]
        if body["channel"] == "webhook":
            assert answer.json()["secret"].startswith("whsec_")
    wigan = await add(world, "wigan_manager", lscb="WGN", channel="email", display_name="W Chair",
                      address="chair@wigan.test", roles=["chair"])
    assert wigan.status_code == 201
    # the receiver verifies with its own secret: give the endpoint that one (as a board would configure it)
    await asyncio.to_thread(
        world.service.directory.pool.connection().__enter__().execute,
        'UPDATE "lif_notifications_directory".recipients SET secret = %s WHERE recipient_id = %s',
        (SECRET, ids["manager_hook"]),
    )
    return ids


async def test_a_reminder_reaches_every_channel_once_and_a_replay_sends_nothing(world: World) -> None:
    ids = await board_directory(world)
    reminder = timer_event(kind="T1", step_id="before_7d")
    await world.deliver(reminder)

    queued = world.of_type("notification_queued")
    recipients = sorted(e["payload"]["recipient_id"] for e in queued)
    assert recipients == sorted(["role:chair", "role:business_manager", *ids.values()])
    assert all(e["causation_id"] == reminder["event_id"] for e in queued)
    log_text = str(world.log())
    for personal in ("pat.chair@bolton.test", "Pat Chair", "Jo Manager", world.hooks.url, SECRET):
        assert personal not in log_text  # events carry recipient ids only

    sent = await world.service.dispatch_pending()
    assert sent == 5
    # email: one message, to Bolton's chair only, with a Message-ID from the idempotency key
    assert len(world.mailbox.messages) == 1
    mail = world.mailbox.messages[0]
    email_event = next(e for e in queued if e["payload"]["channel"] == "email")
    assert mail["To"] == "Pat Chair <pat.chair@bolton.test>"
    assert mail["Message-ID"] == message_id_for(email_event["payload"]["idempotency_key"], DOMAIN)
    assert "T1" in mail["Subject"] and "2015-04-10" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "T1 is due on 2015-04-10" in text and f"https://lif.example/v1/cases/{reminder['case_id']}" in text
    assert "<strong>T1</strong>" in html
    # webhook: answered 503 twice, then delivered; every attempt was signed and verified
    assert world.hooks.refused_signatures == 0
    assert [r["status"] for r in world.hooks.received] == [503, 503, 204]
    hook_event = next(e for e in queued if e["payload"]["channel"] == "webhook")
    assert {r["headers"]["webhook-id"] for r in world.hooks.received} == {hook_event["payload"]["idempotency_key"]}
    assert world.hooks.received[-1]["body"]["data"]["obligation_id"] == reminder["payload"]["obligation_id"]
    attempts = await world.client.get(
        f"/v1/notifications/messages/{hook_event['payload']['message_id']}", headers=world.as_("auditor")
    )
    assert attempts.status_code == 200
    view = attempts.json()
    assert view["state"] == "delivered"
    assert [(a["attempt"], a["outcome"]) for a in view["attempts"]] == [(1, "failed"), (2, "failed"), (3, "delivered")]
    assert view["attempts"][0]["reason"] == "webhook answered 503"
    other_board = await world.client.get(
        f"/v1/notifications/messages/{hook_event['payload']['message_id']}", headers=world.as_("wigan_chair")
    )
    assert other_board.status_code == 404
    delivered = world.of_type("notification_delivered")
    assert sorted(e["payload"]["message_id"] for e in delivered) == sorted(e["payload"]["message_id"] for e in queued)

    # inbox: the chair reads the chair's inbox; the manager the managers' and its own; Wigan nothing
    async def inbox(who: str) -> list[dict[str, Any]]:
        answer = await world.client.get("/v1/me/notifications", headers=world.as_(who))
        assert answer.status_code == 200
        return answer.json()["notifications"]  # type: ignore[no-any-return]

    assert [n["recipient_id"] for n in await inbox("chair")] == ["role:chair"]
    assert sorted(n["recipient_id"] for n in await inbox("manager")) == sorted(
        ["role:business_manager", ids["manager_inbox"]]
    )
    assert await inbox("wigan_chair") == []
    item = (await inbox("chair"))[0]
    assert item["read"] is False and "T1" in item["subject"]
    read = await world.client.post(f"/v1/me/notifications/{item['message_id']}/read", headers=world.as_("chair"))
    assert read.status_code == 200 and read.json()["read"] is True and read.json()["read_by"] == "chair"
    foreign = await world.client.post(
        f"/v1/me/notifications/{item['message_id']}/read", headers=world.as_("wigan_chair")
    )
    assert foreign.status_code == 404
    unread = await world.client.get("/v1/me/notifications?unread=true", headers=world.as_("chair"))
    assert unread.json()["notifications"] == []

    # the same timer event republished (a new position), then a second dispatch: nothing more
    before = len(world.log())
    await world.deliver(reminder)
    await world.deliver(reminder, position=1)  # a redelivery at a recorded position
    assert len(world.log()) == before
    assert await world.service.dispatch_pending() == 0
    # a fresh process (new application, new workers) reading the same log sends nothing either
    await release_channels(world.service)
    policy = RetryPolicy(attempts=3, first_delay=0.01)
    again = await build_outbox_service(world.url, world.settings, None, policy=policy)
    try:
        assert await again.dispatch_pending() == 0
        assert all(worker.holds_lock for worker in again.workers)  # it did look: the channels were free
    finally:
        await again.stop()
    assert len(world.mailbox.messages) == 1 and len(world.hooks.received) == 3


async def release_channels(service: OutboxService) -> None:
    """As when the dispatcher's process ends: its channel locks go with its connections."""
    assert service.locks is not None
    await service.locks.release_all()
    for worker in service.workers:
        worker.holds_lock = False


async def test_one_dispatcher_per_channel_at_a_time(world: World) -> None:
    await board_directory(world)
    assert await world.service.dispatch_pending() == 0  # nothing queued yet; it now holds every channel
    other = await build_outbox_service(world.url, world.settings, None, policy=RetryPolicy(attempts=1))
    try:
        await world.deliver(timer_event(roles=("chair",)))
        assert await other.dispatch_pending() == 0  # the channels are held: it sends nothing
        assert not any(worker.holds_lock for worker in other.workers)
        assert world.mailbox.messages == []
        await release_channels(world.service)
        assert await other.dispatch_pending() == 2  # the chair's inbox and email
        assert len(world.mailbox.messages) == 1
        assert await world.service.dispatch_pending() == 0  # now the other one holds them
    finally:
        await other.stop()


async def test_permanent_failures_and_erased_recipients_are_recorded_not_retried(world: World) -> None:
    ids = await board_directory(world)
    world.hooks.answers[:] = [410]
    chair_email = f"/v1/notifications/recipients/{ids['chair_email']}"
    erased = await world.client.delete(chair_email, headers=world.as_("manager"))
    assert erased.status_code == 200
    escalation = timer_event(kind="T2", step_id="breach_1d", offset_days=1, breach=True)
    await world.deliver(escalation)
    queued = world.of_type("notification_queued")
    assert {e["payload"]["template"] for e in queued} == {"breach_escalation"}
    assert ids["chair_email"] not in {e["payload"]["recipient_id"] for e in queued}  # erased before the fan-out

    # an entry erased after its message was queued: that message fails as erased, nothing is sent
    second = timer_event(case_id=UUID(escalation["case_id"]), kind="T2", step_id="breach_8d", offset_days=8,
                         breach=True)
    await world.deliver(second)
    queued_hook = [e for e in world.of_type("notification_queued") if e["payload"]["channel"] == "webhook"]
    assert len(queued_hook) == 2
    await world.service.dispatch_pending()

    failed = world.of_type("notification_failed")
    hook_failures = [f for f in failed if f["payload"]["channel"] == "webhook"]
    assert len(hook_failures) == 1  # 410 once: permanent, final, not retried
    assert hook_failures[0]["payload"]["permanent"] and hook_failures[0]["payload"]["final"]
    assert hook_failures[0]["payload"]["reason"] == "webhook answered 410"
    assert [r["status"] for r in world.hooks.received] == [410, 204]
    assert world.mailbox.messages == []

    third = timer_event(case_id=UUID(escalation["case_id"]), kind="T2", step_id="breach_15d", offset_days=15,
                        breach=True)
    await world.deliver(third)
    await world.client.delete(f"/v1/notifications/recipients/{ids['manager_hook']}", headers=world.as_("manager"))
    await world.service.dispatch_pending()
    last = [f for f in world.of_type("notification_failed") if f["causation_id"] in {
        e["event_id"] for e in world.of_type("notification_queued") if e["causation_id"] == third["event_id"]}]
    assert [f["payload"]["reason"] for f in last] == ["the recipient is not in the directory (erased or removed)"]
    assert len(world.hooks.received) == 2


async def test_the_directory_is_managed_by_the_board_and_keeps_secrets(world: World) -> None:
    answer = await add(world, "manager", lscb="BOL", channel="webhook", display_name="CMS",
                       address="https://cms.bolton.test/hooks", roles=["business_manager"])
    assert answer.status_code == 201
    secret = answer.json()["secret"]
    assert secret.startswith("whsec_")
    listed = await world.client.get("/v1/notifications/recipients?lscb=BOL", headers=world.as_("manager"))
    assert listed.status_code == 200
    assert secret not in listed.text and listed.json()["recipients"][0]["address"] == "https://cms.bolton.test/hooks"
    as_admin = await world.client.get("/v1/notifications/recipients?lscb=BOL", headers=world.as_("admin"))
    assert as_admin.status_code == 200
    assert (await world.client.get("/v1/notifications/recipients?lscb=BOL", headers=world.as_("wigan_manager"))
            ).status_code == 404
    assert (await world.client.get("/v1/notifications/recipients?lscb=BOL", headers=world.as_("chair"))
            ).status_code == 403
    bad = await add(world, "manager", lscb="BOL", channel="email", display_name="X", address="not-an-address",
                    roles=["chair"])
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "address"
    unknown_role = await add(world, "manager", lscb="BOL", channel="email", display_name="X", address="x@y.test",
                             roles=["janitor"])
    assert unknown_role.status_code == 422 and unknown_role.json()["detail"][0]["field"] == "roles.0"
    assert (await add(world, "manager", lscb="WGN", channel="email", display_name="X", address="x@y.test",
                      roles=["chair"])).status_code == 404
    listed_after = await world.client.get("/v1/notifications/recipients?lscb=BOL", headers=world.as_("manager"))
    assert len(listed_after.json()["recipients"]) == 1  # the refused requests added nothing
    rid = answer.json()["recipient_id"]
    assert (await world.client.delete(f"/v1/notifications/recipients/{rid}", headers=world.as_("wigan_manager"))
            ).status_code == 404
    assert (await world.client.delete(f"/v1/notifications/recipients/{rid}", headers=world.as_("manager"))
            ).status_code == 200
    assert (await world.client.delete(f"/v1/notifications/recipients/{rid}", headers=world.as_("manager"))
            ).status_code == 404
    gone = await world.client.get("/v1/notifications/recipients?lscb=BOL", headers=world.as_("manager"))
    assert gone.json()["recipients"] == []
    entry = await asyncio.to_thread(world.service.directory.entry, rid)
    assert entry is not None and entry.erased and entry.address is None and entry.display_name is None
