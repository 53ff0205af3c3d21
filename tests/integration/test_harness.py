"""The test harness gives real services: a message goes through the broker, SQL runs on PostgreSQL,
and the declared topics exist with their partitions and retention."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from lif.infra.topics import load_topic_definitions
from tests.harness import create_prefixed_topics

pytestmark = pytest.mark.integration

# DescribeConfigs (v1+) source of a value set on the topic itself, as opposed to a broker default.
DYNAMIC_TOPIC_CONFIG = 1


async def test_message_round_trip_through_the_broker(kafka_bootstrap: str, topic_prefix: str) -> None:
    topics = await create_prefixed_topics(kafka_bootstrap, topic_prefix)
    topic = topic_prefix + "lif.intake.v1"
    assert topic in topics
    payload = uuid.uuid4().bytes

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, payload, key=b"harness")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=topic_prefix + "harness",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=30)
        await consumer.commit()
    finally:
        await consumer.stop()

    assert record.value == payload
    assert record.key == b"harness"
    assert (record.partition, record.offset) == (sent.partition, sent.offset)


async def test_postgres_answers_sql(database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        assert await connection.fetchval("select 1") == 1
    finally:
        await connection.close()


def _topic_configs(responses: list[Any], version_has_source: bool) -> dict[str, dict[str, tuple[str, int]]]:
    """{topic: {config name: (value, source)}} from DescribeConfigs responses (positional fields)."""
    result: dict[str, dict[str, tuple[str, int]]] = {}
    for response in responses:
        for error_code, _message, _type, name, entries, *_ in response.resources:
            assert error_code == 0, f"describe_configs failed for {name}: {error_code}"
            result[name] = {
                entry[0]: (entry[1], int(entry[3]) if version_has_source else DYNAMIC_TOPIC_CONFIG)
                for entry in entries
            }
    return result


async def test_declared_topics_exist_with_partitions_and_retention(kafka_bootstrap: str) -> None:
    definitions = load_topic_definitions()
    names = [d.name for d in definitions]
    # The core topics; others (more dead-letter topics, ...) may be declared alongside them.
    assert {"lif.incidents.v1", "lif.incidents.v1.dlq", "lif.intake.v1", "lif.decisioning.v1"} <= set(names)

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        described = {t["topic"]: t for t in await admin.describe_topics(names)}
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        )
    finally:
        await admin.close()

    configs = _topic_configs(responses, version_has_source=all(r.API_VERSION >= 1 for r in responses))
    for definition in definitions:
        topic = described[definition.name]
        assert topic["error_code"] == 0, definition.name
        assert definition.partitions == 3, definition.name
        assert len(topic["partitions"]) == 3, definition.name
        assert all(len(p["replicas"]) == definition.replication_factor for p in topic["partitions"])
        bounded = definition.name == "lif.incidents.v1" or definition.name.startswith("lif.incidents.")
        bounded = bounded or definition.name.endswith(".dlq")
        assert definition.config.get("retention.ms") == ("604800000" if bounded else "-1"), definition.name
        for key, expected in definition.config.items():
            value, source = configs[definition.name][key]
            assert value == expected, (definition.name, key)
            # Set on the topic itself, not inherited from the broker's default.
            assert source == DYNAMIC_TOPIC_CONFIG, (definition.name, key)
