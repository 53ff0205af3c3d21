"""Integrators over Kafka: a receipt for every message, and no child's details kept for ever on Kafka.

Every target runs in this process over real Kafka and PostgreSQL (tests/deployment.py), on this module's
own topics. The summaries posted here are unique strings, searched for in every topic the broker keeps
for ever (retention.ms=-1, read from the broker, not from deploy/topics.json).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from events import topics
from lif.infra.topics import TopicDefinition, ensure_topics, partitions_of, topic_configs
from lif.pseudonym import keyed_hash
from services.intake.dead_letters import DeadLetterStore
from tests.deployment import Deployment, deployed
from tests.harness import ProxyFactory, unique_prefix
from tests.polling import eventually
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
ADMIN = "privacy-kafka-test-admin-token"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}
WEEK_MS = str(7 * 24 * 3600 * 1000)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def deployment(
    kafka_bootstrap: str, database_url: str, reverse_proxy: ProxyFactory
) -> AsyncIterator[Deployment]:
    async with deployed(kafka_bootstrap, database_url, "privacy", ADMIN, reverse_proxy) as running:
        yield running


async def publish(deployment: Deployment, messages: list[tuple[bytes | None, bytes | None]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=deployment.settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(deployment.topic(topics.INCIDENTS), value, key=key)
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    """Every record the topic holds now (from its beginning to its end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in (await partitions_of(bootstrap, [topic]))[topic]]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord] = []
        remaining = {tp for tp in partitions if end[tp] > 0}
        while remaining:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
            remaining = {tp for tp in remaining if await consumer.position(tp) < end[tp]}
        return records
    finally:
        await consumer.stop()


async def records_when(deployment: Deployment, topic: str, ready: Any, what: str) -> list[ConsumerRecord]:
    async def check() -> list[ConsumerRecord] | None:
        records = await read_all(deployment.settings.require_kafka(), deployment.topic(topic))
        return records if ready(records) else None

    return await eventually(check, timeout=60, what=what)


def holds(record: ConsumerRecord, text: str) -> bool:
    needle = text.encode()
    return needle in (record.value or b"") or needle in (record.key or b"") or any(
        needle in value for _, value in record.headers or ()
    )


async def test_receipts_dead_letters_and_no_summary_on_unbounded_topics(deployment: Deployment) -> None:
    assert deployment.client is not None
    tag = uuid4().hex
    valid = notification(summary=f"Valid summary {tag}: the child's details")
    conflicting = dict(valid, summary=f"Conflicting summary {tag}")
    invalid = notification(summary=f"Invalid summary {tag}: the child's details", facts__outcome="exploded")
    reference, invalid_reference = valid["source"]["reference"], invalid["source"]["reference"]
    tombstone_key = f"tombstone-{uuid4().hex}".encode()
    await publish(
        deployment,
        [
            # keyed by the reference, as an integrator would, so the three stay in order on one partition
            (reference.encode(), json.dumps(valid).encode()),
            (reference.encode(), json.dumps(valid).encode()),
            (reference.encode(), json.dumps(conflicting).encode()),
            (None, json.dumps(invalid).encode()),
            (tombstone_key, None),
        ],
    )

    # Receipts: keyed by the source reference as sent, with the case id and status.
    receipts = await records_when(deployment, topics.INCIDENT_RECEIPTS, lambda r: len(r) >= 5, "five receipts")
    by_key: dict[bytes, list[dict[str, Any]]] = {}
    for record in sorted(receipts, key=lambda r: r.offset):
        by_key.setdefault(record.key, []).append(json.loads(record.value))
    mine = by_key[reference.encode()]
    assert [r["status"] for r in mine] == ["accepted", "duplicate", "conflict"]
    case_id = mine[0]["case_id"]
    assert {r["case_id"] for r in mine} == {case_id} and case_id is not None
    (refused,) = by_key[invalid_reference.encode()]
    assert (refused["status"], refused["case_id"]) == ("invalid", None)
    assert [e["field"] for e in refused["errors"]] == ["facts.outcome"]
    (null_receipt,) = by_key[tombstone_key]
    assert null_receipt["status"] == "invalid" and null_receipt["errors"][0]["field"] == "value"

    # Dead letters: the conflict, the invalid one and the tombstone; no summary, the original kept aside.
    dead = await records_when(deployment, topics.INCIDENTS_DLQ, lambda r: len(r) >= 3, "three dead letters")
    assert not any(holds(r, tag) for r in dead), "a dead letter holds a summary"
    store: DeadLetterStore = deployment.running["intake"].parts["dead_letters"]
    key = deployment.settings.require_pseudonym_key()
    letters = {dict(r.headers)["lif-dlq-reason"].decode(): r for r in dead}
    bad = letters["invalid incident notification"]
    summary = json.loads(bad.value)
    assert summary["source_reference_hash"] == keyed_hash(key, "BOL", valid["source"]["system"], invalid_reference)
    assert summary["errors"][0]["field"] == "facts.outcome"
    assert summary["original_size"] == len(json.dumps(invalid).encode())
    original_id = UUID(dict(bad.headers)["lif-dlq-original-id"].decode())
    original = store.get(original_id)
    assert original is not None and original.value == json.dumps(invalid).encode()
    assert store.erase(original_id) is True
    erased = store.get(original_id)
    assert erased is not None and erased.erased and erased.value is None
    tomb = next(r for r in dead if r.key == tombstone_key)
    assert tomb.value is None  # a null value stays null
    assert dict(tomb.headers)["lif-dlq-null-value"] == b"true"

    # The accepted case reached every event topic; none that keeps everything holds a summary.
    async def projected() -> bool:
        response = await deployment.client.get(f"/v1/cases/{case_id}", headers=HEADERS)  # type: ignore[union-attr]
        return response.status_code == 200 and bool(response.json()["recommendation"])

    await eventually(projected, timeout=60, what="the accepted case projected")
    admin = AIOKafkaAdminClient(bootstrap_servers=deployment.settings.kafka_bootstrap)
    await admin.start()
    try:
        names = [n for n in await admin.list_topics() if n.startswith(deployment.settings.topic_prefix)]
        configs = await topic_configs(admin, names)
    finally:
        await admin.close()
    forever = sorted(n for n, c in configs.items() if c.get("retention.ms") == "-1")
    assert deployment.topic(topics.INTAKE) in forever and deployment.topic(topics.INCIDENTS) not in forever
    assert all(configs[deployment.topic(t)]["retention.ms"] == WEEK_MS for t in (topics.INCIDENTS_DLQ,))
    for name in forever:
        records = await read_all(deployment.settings.require_kafka(), name)
        assert not any(holds(r, tag) for r in records), f"{name} keeps a summary for ever"
    intake_events = await read_all(deployment.settings.require_kafka(), deployment.topic(topics.INTAKE))
    assert any(case_id.encode() in (r.value or b"") for r in intake_events)  # the search did look


async def test_ensure_topics_updates_the_retention_of_an_existing_topic(kafka_bootstrap: str) -> None:
    name = f"{unique_prefix()}retention-check"
    await ensure_topics(kafka_bootstrap, [TopicDefinition(name, 1, 1, {"retention.ms": "-1"})])
    await ensure_topics(kafka_bootstrap, [TopicDefinition(name, 1, 1, {"retention.ms": WEEK_MS})])
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        assert (await topic_configs(admin, [name]))[name]["retention.ms"] == WEEK_MS
        await admin.delete_topics([name])
    finally:
        await admin.close()
