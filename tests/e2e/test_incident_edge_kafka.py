"""Intake's consumer of `lif.incidents.v1` applies the HTTP edge's rules: a notification with a duplicate
key, a NUL or a date near year 9999 is dead-lettered with the reason, and the next good one is processed.
Only the intake target runs, on its own topics and database, so this stays fast."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from events import topics
from lif.composition import make_dead_letter_store
from lif.settings import Settings
from tests.databases import fresh_database
from tests.deployment import Deployment
from tests.harness import create_prefixed_topics, unique_prefix
from tests.polling import eventually
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def deployment(kafka_bootstrap: str, database_url: str) -> AsyncIterator[Deployment]:
    prefix = unique_prefix()
    await create_prefixed_topics(kafka_bootstrap, prefix)
    settings = Settings(
        database_url=await fresh_database(database_url, "incident_edge"),
        kafka_bootstrap=kafka_bootstrap,
        pseudonym_key="incident-edge-test-pseudonym-key-0123456789",
        bootstrap_token="incident-edge-admin-token",
        topic_prefix=prefix,
    )
    running = Deployment(settings)
    try:
        await running.start("intake")
        yield running
    finally:
        await running.close()


async def dead_letters(deployment: Deployment, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        deployment.topic(topics.INCIDENTS_DLQ),
        bootstrap_servers=deployment.settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    dead: list[Any] = []
    try:

        async def enough() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                dead.extend(records)
            return len(dead) >= count

        await eventually(enough, what=f"{count} dead letters")
    finally:
        await consumer.stop()
    return dead


async def test_poison_notifications_are_dead_lettered_with_the_reason_and_the_next_is_processed(
    deployment: Deployment,
) -> None:
    duplicated = json.dumps(notification(lscb="MAN")).replace('"lscb": "MAN"', '"lscb": "MAN", "lscb": "BOL"')
    nul = json.dumps(notification(child__subject_ref="subj\x00"))
    far = json.dumps(notification(incident_date="9999-12-30", notified_date="9999-12-31"))
    good = notification(lscb="WGN", child__normally_resident_lscb="WGN")
    producer = AIOKafkaProducer(bootstrap_servers=deployment.settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for value in (duplicated, nul, far, json.dumps(good)):
            await producer.send_and_wait(deployment.topic(topics.INCIDENTS), value.encode())
    finally:
        await producer.stop()

    dead = await dead_letters(deployment, 3)  # unkeyed: on any partition, so in any order
    headers = [{k: v.decode() for k, v in r.headers} for r in dead]
    assert {h["lif-dlq-reason"] for h in headers} == {"invalid incident notification"}
    # The dead letter keeps no notification text; the original is in intake's erasable store by id.
    store = make_dead_letter_store(deployment.settings.require_database_url())
    try:
        originals = [store.get(UUID(h["lif-dlq-original-id"])) for h in headers]
    finally:
        store.close()
    fields = {
        original.value.decode(): json.loads(h["lif-dlq-errors"])[0]["field"]
        for original, h in zip(originals, headers, strict=True)
        if original is not None and original.value is not None
    }
    assert fields == {duplicated: "lscb", nul: "child.subject_ref", far: "incident_date"}

    intake = deployment.running["intake"].parts["intake"]
    case_id = intake.case_id_for_source(good["lscb"], good["source"]["system"], good["source"]["reference"])

    async def recorded() -> bool:
        return intake._existing(case_id) is not None

    await eventually(recorded, what="the good notification's case")
