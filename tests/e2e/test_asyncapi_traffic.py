"""The AsyncAPI document describes what really travels: every message a short distributed run puts on each
topic, headers included, validates against a message the document declares for that topic's channel.

The run, over the real Kafka broker and PostgreSQL: an incident over HTTP (intake, a recommendation, a review
process opened), the Chair's decision and a lead reviewer (more decisioning and orchestration events), and a
notification on the incidents topic that can never be processed (a dead letter).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from events import topics
from lif.infra.topics import load_topic_definitions, partitions_of
from lif.runtime.distributed import asyncapi_document
from tests.deployment import Deployment, deployed
from tests.harness import ProxyFactory
from tests.polling import eventually
from tests.review_journeys import Driver, appoint_lead_reviewer, initiate_scr, open_case
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ADMIN = "asyncapi-traffic-test-admin-token"


@pytest.fixture
async def deployment(
    kafka_bootstrap: str, database_url: str, reverse_proxy: ProxyFactory
) -> AsyncIterator[Deployment]:
    async with deployed(kafka_bootstrap, database_url, "asyncapi_traffic", ADMIN, reverse_proxy) as running:
        yield running


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"][2:].split("/"):
            target = target[unquote(part)]
        node = target
    return node


def declared_messages(document: dict[str, Any], address: str) -> list[dict[str, Any]]:
    """Every message of every channel on `address`, resolved."""
    return [
        _resolve(document, message)
        for channel in document["channels"].values()
        if channel["address"] == address
        for message in channel["messages"].values()
    ]


def conforms(document: dict[str, Any], message: dict[str, Any], value: bytes, headers: dict[str, str]) -> str | None:
    """None when (value, headers) is an instance of `message`, else why not."""
    try:
        if "headers" in message:
            jsonschema.validate(headers, message["headers"])
        if message.get("contentType") == "application/json":
            payload = {**_resolve(document, message["payload"]), "components": document["components"]}
            jsonschema.validate(json.loads(value), payload)
    except (jsonschema.ValidationError, json.JSONDecodeError) as error:
        return f"{message['name']}: {str(error).splitlines()[0]}"
    return None


async def read_everything(deployment: Deployment, names: list[str]) -> dict[str, list[Any]]:
    """Every record on each topic (its physical name), from the start to the end offsets of now."""
    bootstrap = deployment.settings.kafka_bootstrap or ""
    physical = {deployment.topic(name): name for name in names}
    found = await partitions_of(bootstrap, list(physical))
    partitions = [TopicPartition(t, p) for t, ps in found.items() for p in ps]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    records: dict[str, list[Any]] = {name: [] for name in names}
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp, end in ends.items() if end > 0}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, items in batch.items():
                records[physical[tp.topic]].extend(items)
                if items and items[-1].offset + 1 >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return records


async def test_every_message_on_every_topic_is_one_the_document_declares(deployment: Deployment) -> None:
    assert deployment.client is not None
    store = deployment.running["projections"].parts["app"].state.authenticator.store

    async def tokens(role: Any, scope: str, name: str) -> str:
        value, _ = await store.create(role, scope, name)
        return str(value)

    d = Driver(deployment.client, tokens)
    review = await open_case(d)
    await initiate_scr(d, review, "targeted", date(2015, 3, 18))
    await appoint_lead_reviewer(d, review, date(2015, 3, 19))
    producer = AIOKafkaProducer(bootstrap_servers=deployment.settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        poison = json.dumps(notification(lscb="XXX")).encode()  # an unknown board: never processable
        await producer.send_and_wait(deployment.topic(topics.INCIDENTS), poison, headers=[("x-sender", b"test")])
        again = json.dumps(notification()).encode()  # the case opened over HTTP, again: a duplicate
        await producer.send_and_wait(deployment.topic(topics.INCIDENTS), again)
    finally:
        await producer.stop()

    names = [t.name for t in load_topic_definitions()]
    document = asyncapi_document()

    async def dead_letter_arrived() -> dict[str, list[Any]] | None:
        records = await read_everything(deployment, names)
        return records if records[topics.INCIDENTS_DLQ] else None

    records = await eventually(dead_letter_arrived, timeout=60, what="the dead letter")
    failures: list[str] = []
    for name, items in records.items():
        declared = declared_messages(document, name)
        if not declared:
            failures.append(f"{name}: no channel declares a message")
        for record in items:
            headers = {key: value.decode() for key, value in record.headers or ()}
            reasons = [conforms(document, message, record.value or b"", headers) for message in declared]
            if all(reasons):
                failures.append(f"{name}@{record.partition}:{record.offset} matches none: {reasons[:3]}")
    assert not failures, "\n".join(failures[:20])
    seen = {name: len(items) for name, items in records.items()}
    assert seen[topics.INTAKE] >= 1 and seen[topics.DECISIONING] >= 3 and seen[topics.ORCHESTRATION] >= 2, seen
    assert seen[topics.INCIDENTS] == 2 and seen[topics.INCIDENTS_DLQ] == 1, seen
    types = {
        json.loads(r.value)["event_type"] for name in (topics.DECISIONING, topics.ORCHESTRATION) for r in records[name]
    }
    assert {"decisioning.chair_decision_recorded", "decisioning.lead_reviewer_appointed"} <= types
