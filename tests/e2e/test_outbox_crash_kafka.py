"""The outbox killed with SIGKILL in the middle of dispatching, over Kafka, with a real SMTP server.

The notifications target (`lif serve notifications`) runs as its own process: its outbox follows
`lif.notifications.v1` (where the timer events arrive), records one message per recipient and sends the
emails. The SMTP server kills the process while it holds a message it has accepted but not yet answered:
the one window the README documents. After a restart every message is delivered and recorded exactly once,
and only the message in flight arrived twice, both times with the same Message-ID. Republishing every
timer event then sends nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from events import topics
from lif.delivery.log import read_log
from lif.infra.topics import TopicDefinition, ensure_topics, load_topic_definitions
from lif.notifications_outbox import make_directory, make_outbox
from services.notifications.channels.email import message_id_for
from services.notifications.outbox.application import OutboxApplication
from tests.databases import fresh_database
from tests.mailbox import Mailbox, free_port, smtp_server
from tests.polling import eventually
from tests.timer_events import timer_event

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
LIF = Path(sys.executable).with_name("lif")
DOMAIN = "lif.crash.test"
REMINDERS = 12
KILL_AT = 4


@dataclass
class Outbox:
    env: dict[str, str]
    logs: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> subprocess.Popen[bytes]:
        self.starts += 1
        out = (self.logs / f"outbox-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [str(LIF), "serve", "notifications"],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        return self.process

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
async def outbox_app(database_url: str) -> AsyncIterator[tuple[str, OutboxApplication]]:
    url = await fresh_database(database_url, "outboxkill")
    directory = make_directory(url)
    directory.add(lscb="BOL", channel="email", display_name="Pat Chair", address="chair@bolton.test",
                  roles=["chair"], created_by="test")
    app = make_outbox(url, directory)
    yield url, app
    app.close()
    directory.close()


async def publish(bootstrap: str, topic: str, envelopes: list[dict[str, Any]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send_and_wait(topic, json.dumps(envelope).encode(), key=envelope["case_id"].encode())
    finally:
        await producer.stop()


def outcomes(app: OutboxApplication) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    log = [item.envelope for item in read_log(app, 0, 100_000)]
    queued = [e for e in log if e["event_type"] == "notifications.notification_queued"]
    delivered = [e for e in log if e["event_type"] == "notifications.notification_delivered"]
    return queued, delivered


async def test_kill_9_during_dispatch_loses_nothing_and_repeats_only_the_message_in_flight(
    kafka_bootstrap: str, outbox_app: tuple[str, OutboxApplication], tmp_path: Path
) -> None:
    url, app = outbox_app
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    notifications = TopicDefinition(topics.NOTIFICATIONS, 3, 1, {"retention.ms": "-1"})
    declared = load_topic_definitions()
    if all(d.name != topics.NOTIFICATIONS for d in declared):  # until deploy/topics.json declares it
        declared.append(notifications)
    await ensure_topics(kafka_bootstrap, declared, prefix=prefix)
    reminders = [timer_event(kind="T1", step_id=f"before_{i}d", roles=("chair",)) for i in range(REMINDERS)]
    with smtp_server() as (mailbox, port):
        outbox = Outbox(
            {
                **os.environ,
                "DATABASE_URL": url,
                "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
                "LIF_TOPIC_PREFIX": prefix,
                "LIF_PORT": str(free_port()),
                "LIF_SMTP_HOST": "127.0.0.1",
                "LIF_SMTP_PORT": str(port),
                "LIF_SMTP_STARTTLS": "false",
                "LIF_MESSAGE_ID_DOMAIN": DOMAIN,
            },
            tmp_path,
        )
        in_flight: list[str] = []

        def kill_while_accepting(message: EmailMessage) -> None:
            """The server has the message; the sender dies before it hears so, or records it."""
            if len(mailbox.messages) == KILL_AT and outbox.process is not None and not in_flight:
                in_flight.append(str(message["Message-ID"]))
                os.kill(outbox.process.pid, signal.SIGKILL)

        mailbox.on_message = kill_while_accepting
        first = outbox.start()
        try:
            await publish(kafka_bootstrap, prefix + topics.NOTIFICATIONS, reminders)
            code = await asyncio.to_thread(first.wait, 120)
            assert code == -signal.SIGKILL, (outbox.logs / "outbox-1.log").read_text()[-3000:]
            _, delivered_before = outcomes(app)
            assert len(delivered_before) < 2 * REMINDERS  # killed mid-way, not after the end

            outbox.start()

            async def all_delivered() -> bool:
                queued, delivered = outcomes(app)
                return len(queued) == 2 * REMINDERS and len(delivered) == len(queued)

            await eventually(all_delivered, timeout=120, what="every message delivered after the restart")
            queued, delivered = outcomes(app)
            # every message recorded as delivered exactly once
            assert Counter(e["payload"]["message_id"] for e in delivered) == Counter(
                e["payload"]["message_id"] for e in queued
            )
            emails = [e for e in queued if e["payload"]["channel"] == "email"]
            expected = {message_id_for(e["payload"]["idempotency_key"], DOMAIN) for e in emails}
            received = Counter(mailbox.message_ids())
            assert set(received) == expected and len(expected) == REMINDERS
            # none twice except the one the server held when the sender died, with the same Message-ID
            assert {mid for mid, n in received.items() if n > 1} == set(in_flight)
            assert received[in_flight[0]] == 2
            retried = [e for e in delivered if message_id_for(e["payload"]["idempotency_key"], DOMAIN) == in_flight[0]]
            assert len(retried) == 1

            # a replay: every timer event republished, then one new one; only the new one is sent
            marker = timer_event(kind="T2", step_id="on_day", offset_days=0, roles=("chair",))
            await publish(kafka_bootstrap, prefix + topics.NOTIFICATIONS, [*reminders, marker])

            async def marker_delivered() -> bool:
                return len(outcomes(app)[1]) == 2 * (REMINDERS + 1)

            await eventually(marker_delivered, timeout=60, what="the new reminder delivered")
            assert sum(Counter(mailbox.message_ids()).values()) == REMINDERS + 1 + 1
        finally:
            outbox.stop()
        # a fresh dispatcher over the same log (a restart, a rebuild of anything else) sends nothing
        again = await asyncio.to_thread(
            subprocess.run,
            [str(LIF), "outbox", "dispatch", "--once"],
            env=outbox.env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert again.returncode == 0, again.stderr.decode()[-2000:]
        assert b"dispatched 0" in again.stderr
        assert len(mailbox.messages) == REMINDERS + 2
        assert isinstance(mailbox, Mailbox)
