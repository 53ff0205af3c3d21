"""The notifications service over a real Kafka broker: every `lif serve` target in this process, behind the
reverse proxy. A case's T1 reminds and escalates on a moved clock, nothing is recorded twice by a second
instance ticking at the same time or by decisioning's events published again, the timer events reach
`lif.notifications.v1` once each, and the Chair's decision stops T1. A forum's learning actions, from
`lif.learning.v1`, breach once when left open and never when done in time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from icalendar import Calendar

from events import topics
from events.registry import parse_event
from lif.admin import create_feed
from lif.auth import Role
from lif.composition import NOTIFICATIONS_TOPICS, make_notifications, make_ticker
from lif.db import close_pool, create_pool
from lif.delivery.log import read_log
from lif.infra.topics import partitions_of
from lif.runtime.distributed import start_target
from lif.settings import Settings
from tests.databases import fetch
from tests.deployment import Deployment, deployed
from tests.harness import ProxyFactory
from tests.polling import eventually
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
ADMIN = "notifications-kafka-test-admin-token"
TIMERS = ("notifications.reminder_due", "notifications.obligation_breached")


@dataclass
class Clock:
    day: date = date(2015, 3, 20)

    def __call__(self) -> date:
        return self.day


CLOCK = Clock()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def deployment(
    kafka_bootstrap: str, database_url: str, reverse_proxy: ProxyFactory
) -> AsyncIterator[Deployment]:
    async with deployed(kafka_bootstrap, database_url, "notifications_kafka", ADMIN, reverse_proxy) as running:
        # The notifications target again, on the test's clock (the same port: the proxy finds it there).
        await running.stop("notifications")
        running.running["notifications"] = await start_target("notifications", running.settings, today=CLOCK)
        await running._serve("notifications")
        yield running


async def token(deployment: Deployment, role: Role, scope: str, name: str) -> dict[str, str]:
    store = deployment.running["projections"].parts["app"].state.authenticator.store
    value, _ = await store.create(role, scope, name)
    return {"Authorization": f"Bearer {value}"}


def timer_events(deployment: Deployment) -> list[Any]:
    app = deployment.running["notifications"].parts["notifications"]
    events = [parse_event(item.envelope) for item in read_log(app, 0, 100_000)]
    return [e for e in events if e.event_type in TIMERS]


async def consumed_up_to_the_end(deployment: Deployment) -> bool:
    """The notifications consumer has recorded every offset of the topics it follows."""
    bootstrap, url = deployment.settings.kafka_bootstrap or "", deployment.settings.database_url or ""
    names = [deployment.topic(t) for t in NOTIFICATIONS_TOPICS]
    partitions = [TopicPartition(t, p) for t, ps in (await partitions_of(bootstrap, names)).items() for p in ps]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    rows = await fetch(url, 'SELECT application_name, notification_id FROM "lif_notifications".notifications_tracking')
    positions = {row["application_name"]: row["notification_id"] for row in rows}
    return all(positions.get(f"kafka:{tp.topic}:{tp.partition}", 0) >= end for tp, end in ends.items())


async def read_topic(deployment: Deployment, topic: str) -> list[tuple[bytes | None, bytes]]:
    bootstrap = deployment.settings.kafka_bootstrap or ""
    name = deployment.topic(topic)
    partitions = [TopicPartition(name, p) for p in (await partitions_of(bootstrap, [name]))[name]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[tuple[bytes | None, bytes]] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                found.extend((r.key, r.value) for r in records if r.value is not None)
        return found
    finally:
        await consumer.stop()


async def test_t1_over_kafka_reminds_once_each_and_stops_with_the_decision(deployment: Deployment) -> None:
    assert deployment.client is not None
    client = deployment.client
    manager = await token(deployment, Role.BUSINESS_MANAGER, "BOL", "kafka-manager")
    chair = await token(deployment, Role.CHAIR, "BOL", "kafka-chair")
    response = await client.post("/v1/incidents", json=notification(), headers=manager)
    assert response.status_code == 202, response.text
    case_id = response.json()["case_id"]

    async def t1() -> dict[str, Any] | None:
        listed = await client.get("/v1/lscbs/BOL/obligations", params={"kind": "T1"}, headers=manager)
        assert listed.status_code == 200, listed.text
        return next((o for o in listed.json()["obligations"] if o["case_id"] == case_id), None)

    found = await eventually(t1, what="T1 over Kafka")
    assert (found["due"], found["state"]) == ("2015-04-10", "open")

    # The running target and a second instance on the same database tick the same days at the same time.
    settings = deployment.settings
    second_app = await asyncio.to_thread(make_notifications, settings.database_url or "", CLOCK)
    pool = await create_pool(settings.database_url or "", max_size=2)
    try:
        second = make_ticker(pool, second_app, CLOCK)
        ticker = deployment.running["notifications"].parts["ticker"]
        for day in (date(2015, 4, 3), date(2015, 4, 9), date(2015, 4, 11)):
            CLOCK.day = day
            await asyncio.gather(ticker.tick(day), second.tick(day))
    finally:
        await close_pool(pool)
        await asyncio.to_thread(second_app.close)
    fired = [e for e in timer_events(deployment) if str(e.case_id) == case_id]
    t1_steps = [(e.payload.step.step_id, e.payload.fired_for) for e in fired if e.payload.kind == "T1"]
    assert t1_steps == [("before_7d", date(2015, 4, 3)), ("before_1d", date(2015, 4, 9)), ("breach", date(2015, 4, 11))]

    # Decisioning's events published again (a relay's at-least-once): the same event ids, no new obligation
    # event and no new timer.
    before = len(timer_events(deployment))
    records = await read_topic(deployment, topics.DECISIONING)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(deployment.topic(topics.DECISIONING), value, key=key)
    finally:
        await producer.stop()
    await eventually(lambda: consumed_up_to_the_end(deployment), what="the republished events consumed")
    assert len(timer_events(deployment)) == before

    # The timer events reach lif.notifications.v1, each event id once.
    async def relayed() -> bool:
        published = [parse_event(value) for _, value in await read_topic(deployment, topics.NOTIFICATIONS)]
        ids = [e.event_id for e in published if e.event_type in TIMERS]
        return {e.event_id for e in timer_events(deployment)} <= set(ids) and len(ids) == len(set(ids))

    await eventually(relayed, what="the timer events relayed once each")

    body = {"decision": "initiate_scr", "decided_on": "2015-04-11", "methodology": "intensive", "criteria_held": ["D1"]}
    decided = await client.post(f"/v1/cases/{case_id}/decisions", json=body, headers=chair)
    assert decided.status_code == 201, decided.text

    async def met() -> bool:
        item = await t1()
        return item is not None and item["state"] == "met"

    await eventually(met, what="T1 met by the decision over Kafka")
    t1_count = len([e for e in timer_events(deployment) if e.payload.kind == "T1"])
    ticker = deployment.running["notifications"].parts["ticker"]
    for day in (date(2015, 4, 18), date(2015, 4, 25)):
        CLOCK.day = day
        await ticker.tick(day)
    assert len([e for e in timer_events(deployment) if e.payload.kind == "T1"]) == t1_count


async def test_the_obligations_and_a_feed_through_the_proxy_keep_to_scope(deployment: Deployment) -> None:
    assert deployment.client is not None
    client = deployment.client
    manager = await token(deployment, Role.BUSINESS_MANAGER, "BOL", "kafka-manager-2")
    wigan = await token(deployment, Role.CHAIR, "WGN", "kafka-wigan-chair")
    response = await client.post("/v1/incidents", json=notification(), headers=manager)
    assert response.status_code == 202, response.text
    case_id = response.json()["case_id"]

    async def listed() -> list[dict[str, Any]]:
        answer = await client.get("/v1/lscbs/BOL/obligations", headers=manager, params={"limit": 1000})
        return [o for o in answer.json()["obligations"] if o["case_id"] == case_id]

    assert {o["kind"] for o in await eventually(listed, what="the case's obligations")} >= {"T1"}
    other = await client.get("/v1/lscbs/BOL/obligations", headers=wigan)
    missing = await client.get("/v1/lscbs/XYZ/obligations", headers=wigan)
    assert other.status_code == missing.status_code == 404 and other.json() == missing.json()
    assert (await client.get("/v1/region/obligations", headers=manager)).status_code == 403

    settings = Settings(database_url=deployment.settings.database_url)
    _, path = await create_feed(settings, "BOL", None, "kafka-test")
    feed = await client.get(f"/v1/feeds/{path}")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    uids = {str(e["UID"]) for e in Calendar.from_ical(feed.content).walk("VEVENT")}
    assert any(uid.endswith("@lif") for uid in uids) and len(uids) >= 1
    assert (await client.get("/v1/feeds/lif_feed_" + "y" * 43 + ".ics")).status_code == 404


async def test_learning_actions_over_kafka_breach_once_and_one_done_in_time_never(deployment: Deployment) -> None:
    """The learning target's events reach the notifications target over `lif.learning.v1`: a forum's actions
    are obligations naming no case; two instances ticking past the due date record one breach for the action
    left open, none for the one done in time, and learning's events published again change nothing."""
    assert deployment.client is not None
    client = deployment.client
    manager = await token(deployment, Role.BUSINESS_MANAGER, "BOL", "kafka-learning-manager")
    CLOCK.day = date(2015, 7, 1)
    forum = {
        "lscb": "BOL",
        "reference": "BOL-FORUM-KAFKA-01",
        "title": "Disguised compliance",
        "held_on": "2015-06-01",
        "agencies": ["health"],
        "themes": [{"code": "family_professional_interaction"}],
        "what_was_learnt": "Practitioners accepted the parents' accounts without challenge.",
        "key_multi_agency_recommendations": ["Joint training on disguised compliance."],
    }
    recorded = await client.post("/v1/learning/forums", json=forum, headers=manager)
    assert recorded.status_code == 201, recorded.text
    source_id = recorded.json()["events"][0]["payload"]["source_id"]

    async def recommendation() -> str | None:
        listed = await client.get("/v1/learning/recommendations", params={"lscb": "BOL"}, headers=manager)
        assert listed.status_code == 200, listed.text
        found = [r["recommendation_id"] for r in listed.json()["recommendations"] if r["source_id"] == source_id]
        return found[0] if found else None

    rec = await eventually(recommendation, what="the forum's recommendation")
    actions = {}
    for name, due in (("late", "2015-09-01"), ("in_time", "2015-09-04")):
        body = {"owning_agency": "health", "due": due, "description": f"Action {name}."}
        answer = await client.post(f"/v1/learning/recommendations/{rec}/actions", json=body, headers=manager)
        assert answer.status_code == 201, answer.text
        actions[name] = answer.json()["events"][0]["payload"]["action_id"]

    async def obligations() -> dict[str, dict[str, Any]] | None:
        listed = await client.get("/v1/lscbs/BOL/obligations", params={"kind": "action_due"}, headers=manager)
        found = {o["ref"]: o for o in listed.json()["obligations"] if o["recommendation_id"] == rec}
        return found if len(found) == 2 else None

    found = await eventually(obligations, what="the actions' obligations over Kafka")
    assert set(found) == set(actions.values()) and all(o["case_id"] is None for o in found.values())

    done = {"status": "done", "on": "2015-09-02"}
    path = f"/v1/learning/recommendations/{rec}/actions/{actions['in_time']}"
    answer = await client.post(path, json=done, headers=manager)
    assert answer.status_code == 201, answer.text

    async def met() -> bool:
        current = await obligations()
        return current is not None and current[actions["in_time"]]["state"] == "met"

    await eventually(met, what="the action done in time met over Kafka")
    settings = deployment.settings
    second_app = await asyncio.to_thread(make_notifications, settings.database_url or "", CLOCK)
    pool = await create_pool(settings.database_url or "", max_size=2)
    try:
        second = make_ticker(pool, second_app, CLOCK)
        ticker = deployment.running["notifications"].parts["ticker"]
        for day in (date(2015, 9, 2), date(2015, 9, 5)):
            CLOCK.day = day
            await asyncio.gather(ticker.tick(day), second.tick(day))
    finally:
        await close_pool(pool)
        await asyncio.to_thread(second_app.close)
    ids = {str(o["obligation_id"]): ref for ref, o in found.items()}
    breaches = [
        ids[str(e.payload.obligation_id)]
        for e in timer_events(deployment)
        if e.event_type == "notifications.obligation_breached" and str(e.payload.obligation_id) in ids
    ]
    assert breaches == [actions["late"]]

    # Learning's events published again: the same ids, nothing new recorded.
    before = len(timer_events(deployment))
    records = await read_topic(deployment, topics.LEARNING)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(deployment.topic(topics.LEARNING), value, key=key)
    finally:
        await producer.stop()
    await eventually(lambda: consumed_up_to_the_end(deployment), what="learning's events consumed again")
    assert len(timer_events(deployment)) == before
    current = await obligations()
    assert current is not None and current[actions["late"]]["state"] == "breached"
