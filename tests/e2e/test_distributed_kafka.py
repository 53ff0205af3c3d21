"""The distributed runtime end to end over a real Kafka broker and real PostgreSQL.

Every target of `lif serve` runs in this process (its own consumers, producers and pools), on this
module's own topics (a unique prefix) and its own database.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from events import topics
from lif.auth import Role
from lif.settings import PROJECT_ROOT
from services.intake.summary_reads import summary_reads
from tests.databases import fetch
from tests.deployment import Deployment, deployed
from tests.harness import ProxyFactory
from tests.polling import eventually
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
ADMIN = "distributed-test-admin-token"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def deployment(
    kafka_bootstrap: str, database_url: str, reverse_proxy: ProxyFactory
) -> AsyncIterator[Deployment]:
    async with deployed(kafka_bootstrap, database_url, "kafka", ADMIN, reverse_proxy) as running:
        yield running


async def case_with_recommendation(deployment: Deployment, case_id: str) -> dict[str, Any] | None:
    """The case once both its incident and its recommendation are projected (they travel on different topics)."""
    assert deployment.client is not None
    response = await deployment.client.get(f"/v1/cases/{case_id}", headers=HEADERS)
    if response.status_code == 200 and response.json()["recommendation"] and response.json()["opened_at"]:
        return response.json()  # type: ignore[no-any-return]
    return None


async def wait_for_case(deployment: Deployment, case_id: str, timeout: float = 60) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        return await case_with_recommendation(deployment, case_id)

    return await eventually(check, timeout=timeout, what=f"case {case_id} in the projection")


async def publish(deployment: Deployment, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=deployment.settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(deployment.topic(topic), value)
    finally:
        await producer.stop()


def case_id_for_reference(deployment: Deployment, doc: dict[str, Any]) -> str:
    """The case id intake gives this notification's source (as a resubmission's answer would say)."""
    intake = deployment.running["intake"].parts["intake"]
    return str(intake.case_id_for_source(doc["lscb"], doc["source"]["system"], doc["source"]["reference"]))


async def test_http_incident_reaches_the_projection_and_latency_is_recorded(deployment: Deployment) -> None:
    assert deployment.client is not None
    latencies = []
    for i in range(12):
        doc = notification(facts__historical=(i % 3 == 0))
        started = time.perf_counter()
        response = await deployment.client.post("/v1/incidents", json=doc, headers=HEADERS)
        assert response.status_code == 202, response.text
        case = await wait_for_case(deployment, response.json()["case_id"])
        latencies.append(time.perf_counter() - started)
        rec = case["recommendation"]
        assert rec["review_type"] == "serious_case_review"
        assert rec["methodology_hint"] == ("targeted" if i % 3 == 0 else "intensive")
        assert rec["deadlines"]["chair_decision_due"] == "2015-04-10"
    median_ms = statistics.median(latencies) * 1000
    out = PROJECT_ROOT / ".lif-data" / "e2e-latency.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {"samples": len(latencies), "median_ms": round(median_ms, 1), "max_ms": round(max(latencies) * 1000, 1)}
        )
    )
    print(f"median POST-to-projection latency over Kafka: {median_ms:.0f} ms")


async def test_kafka_incident_reaches_the_projection(deployment: Deployment) -> None:
    doc = notification(facts__outcome="harmed", facts__working_together_concern="yes")
    await publish(deployment, topics.INCIDENTS, [json.dumps(doc).encode()])
    case_id = case_id_for_reference(deployment, doc)
    case = await wait_for_case(deployment, case_id)
    assert case["recommendation"]["review_type"] == "multi_agency_concise_review"
    assert case["events"][0]["payload"]["channel"] == "kafka"


async def test_malformed_message_is_dead_lettered_and_the_next_one_processed(deployment: Deployment) -> None:
    bad = notification(facts__outcome="exploded")
    good = notification(facts__abuse_or_neglect="not_suspected", facts__outcome="not_harmed")
    await publish(deployment, topics.INCIDENTS, [b"{not json", json.dumps(bad).encode(), json.dumps(good).encode()])

    consumer = AIOKafkaConsumer(
        deployment.topic(topics.INCIDENTS_DLQ),
        bootstrap_servers=deployment.settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    dead: list[Any] = []
    try:

        async def two_dead() -> bool:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                dead.extend(records)
            return len(dead) >= 2

        await eventually(two_dead, what="two dead letters")
    finally:
        await consumer.stop()
    reasons = [dict(r.headers) for r in dead]
    assert {r["lif-dlq-source-topic"].decode() for r in reasons} == {deployment.topic(topics.INCIDENTS)}
    errors = [json.loads(r["lif-dlq-errors"]) for r in reasons]
    assert any(e and e[0]["field"] == "facts.outcome" for e in errors)
    assert all(r["lif-dlq-reason"].decode() == "invalid incident notification" for r in reasons)

    case_id = case_id_for_reference(deployment, good)
    case = await wait_for_case(deployment, case_id)
    assert case["recommendation"]["review_type"] == "no_review"


async def test_duplicate_delivery_and_republication_change_nothing(deployment: Deployment) -> None:
    doc = notification()
    await publish(deployment, topics.INCIDENTS, [json.dumps(doc).encode()] * 3)
    case_id = case_id_for_reference(deployment, doc)
    await wait_for_case(deployment, case_id)

    # A relay that crashed before recording its position publishes everything again, at new offsets.
    relay = deployment.running["intake"].parts["relay"]
    await relay.positions.pool.execute(
        f'UPDATE "{relay.positions.schema}".relay_positions SET position = 0 WHERE relay = $1', relay.name
    )
    head = await asyncio.to_thread(relay.app.recorder.max_notification_id)
    decisioning = deployment.running["decisioning"].parts["decisioning"]
    intake_topic = deployment.topic(topics.INTAKE)

    async def everything_consumed_twice() -> bool:
        rows = await fetch(
            deployment.settings.database_url or "",
            "SELECT coalesce(sum(position), 0) AS p FROM lif_projections.positions WHERE position_key LIKE $1",
            f"kafka:{intake_topic}:%",
        )
        tracked = sum([await asyncio.to_thread(decisioning.position, f"kafka:{intake_topic}:{p}") for p in range(3)])
        seen.append((int(rows[0]["p"]), tracked, 2 * head))
        return int(rows[0]["p"]) >= 2 * head and tracked >= 2 * head

    seen: list[tuple[int, int, int]] = []
    relay.wakeup.set()
    try:
        await eventually(everything_consumed_twice, timeout=60, what="the republished events to be consumed")
    finally:
        print("republication progress", seen[-1:])
    case = await wait_for_case(deployment, case_id)
    assert [e["event_type"] for e in case["events"] if not e["event_type"].startswith("orchestration.")] == [
        "intake.incident_received",
        "decisioning.recommendation_recorded",
    ]
    threshold = await asyncio.to_thread(decisioning.get_case, case_id)
    assert len(threshold.recommendations) == 1
    recorded = await fetch(
        deployment.settings.database_url or "",
        "SELECT count(*) AS n FROM lif_decisioning.decisioning_events WHERE originator_id = $1 "
        "AND topic NOT LIKE '%IncidentNoted'",  # the internal note of the incident answered, stored once
        threshold.id,
    )
    assert recorded[0]["n"] == 1


async def test_decisioning_stopped_mid_stream_and_restarted_loses_and_duplicates_nothing(
    deployment: Deployment,
) -> None:
    assert deployment.client is not None
    case_ids = []
    for _ in range(20):
        response = await deployment.client.post("/v1/incidents", json=notification(), headers=HEADERS)
        case_ids.append(response.json()["case_id"])
    decisioning = deployment.running["decisioning"].parts["decisioning"]

    async def some_decided() -> bool:
        found = [await asyncio.to_thread(decisioning.get_case, c) for c in case_ids]
        return sum(1 for case in found if case is not None) >= 3

    await eventually(some_decided, what="decisioning to be mid-stream")
    await deployment.stop("decisioning")
    for _ in range(5):
        response = await deployment.client.post("/v1/incidents", json=notification(), headers=HEADERS)
        case_ids.append(response.json()["case_id"])
    await deployment.start("decisioning")

    for case_id in case_ids:
        await wait_for_case(deployment, case_id)
    decisioning = deployment.running["decisioning"].parts["decisioning"]
    for case_id in case_ids:
        threshold = await asyncio.to_thread(decisioning.get_case, case_id)
        assert threshold is not None and len(threshold.recommendations) == 1
    rows = await fetch(
        deployment.settings.database_url or "",
        "SELECT case_id, count(*) AS n FROM lif_projections.case_events "
        "WHERE event_type = 'decisioning.recommendation_recorded' AND case_id = ANY($1::uuid[]) GROUP BY case_id",
        case_ids,
    )
    assert len(rows) == len(case_ids) and {r["n"] for r in rows} == {1}


async def token(deployment: Deployment, role: Role, scope: str, name: str) -> dict[str, str]:
    store = deployment.running["projections"].parts["app"].state.authenticator.store
    value, _ = await store.create(role, scope, f"{name}-{uuid4().hex[:6]}")
    return {"Authorization": f"Bearer {value}"}


async def case_events(deployment: Deployment, case_id: str, *wanted: str) -> dict[str, Any]:
    """The projected case once its events include (at least) these types, in this order, via Kafka."""
    assert deployment.client is not None

    async def check() -> dict[str, Any] | None:
        case = (await deployment.client.get(f"/v1/cases/{case_id}", headers=HEADERS)).json()  # type: ignore[union-attr]
        types = [e["event_type"] for e in case.get("events", [])]
        found = iter(types)
        return case if all(w in found for w in wanted) else None

    return await eventually(check, what=f"case {case_id} with {wanted}")


async def test_a_case_is_decided_appointed_and_noticed_over_kafka(deployment: Deployment) -> None:
    assert deployment.client is not None
    chair = await token(deployment, Role.CHAIR, "BOL", "chair")
    manager = await token(deployment, Role.BUSINESS_MANAGER, "BOL", "bm")
    response = await deployment.client.post("/v1/incidents", json=notification(), headers=manager)
    case_id = response.json()["case_id"]
    await wait_for_case(deployment, case_id)
    base = f"/v1/cases/{case_id}"

    initiate = {
        "decision": "initiate_scr",
        "decided_on": "2015-03-18",
        "methodology": "targeted",
        "criteria_held": ["D4"],
    }
    agreed = await deployment.client.post(f"{base}/decisions", json=initiate, headers=chair)
    assert agreed.status_code == 201, agreed.text
    reviewer = await deployment.client.post(
        "/v1/reviewers",
        json={"name": "Ali Independent", "employer": {"organisation": "Reviews North"}},
        headers=manager,
    )
    appointed = await deployment.client.post(
        f"{base}/lead-reviewers", json={"reviewer_id": reviewer.json()["reviewer_id"]}, headers=chair
    )
    assert appointed.status_code == 201, appointed.text
    t4 = await deployment.client.post(f"{base}/panel-notices", headers=chair)
    assert t4.json()["events"][0]["payload"]["content_rule"] == "T4"
    departed = await deployment.client.post(
        f"{base}/decisions",
        json={"decision": "commission_macr", "decided_on": "2015-03-19", "rationale": "Narrower learning."},
        headers=chair,
    )
    assert departed.status_code == 201, departed.text
    t3_answer = await deployment.client.post(f"{base}/panel-notices", headers=manager)
    assert t3_answer.status_code == 201, t3_answer.text
    t3 = t3_answer.json()["events"][0]["payload"]
    assert t3["content_rule"] == "T3"
    # Decisioning asked intake for the summary over its internal route, and intake logged the read.
    reads = summary_reads(deployment.running["intake"].parts["intake"], UUID(case_id))
    assert [(r["reader"], r["found"]) for r in reads] == [("decisioning", True)]
    sent = await deployment.client.post(f"{base}/panel-notices/{t3['notice_id']}/sent", json={}, headers=manager)
    assert sent.status_code == 201, sent.text

    case = await case_events(
        deployment,
        case_id,
        "decisioning.chair_decision_recorded",
        "decisioning.lead_reviewer_appointed",
        "decisioning.panel_notice_prepared",
        "decisioning.chair_decision_recorded",
        "decisioning.panel_notice_prepared",
        "decisioning.panel_notice_sent",
    )
    assert case["decision"]["decision"] == "commission_macr"
    audit = await deployment.client.get(f"{base}/decisions", headers=HEADERS)
    assert audit.status_code == 200, audit.text


async def test_rebuild_from_kafka_gives_the_same_views(deployment: Deployment) -> None:
    from projections.rebuild import rebuild_from_kafka

    assert deployment.client is not None
    response = await deployment.client.post("/v1/incidents", json=notification(), headers=HEADERS)
    case_id = response.json()["case_id"]
    await wait_for_case(deployment, case_id)
    chair = await token(deployment, Role.CHAIR, "BOL", "chair")
    decision = {"decision": "no_review", "decided_on": "2015-03-18", "rationale": "Learning already in hand."}
    assert (
        await deployment.client.post(f"/v1/cases/{case_id}/decisions", json=decision, headers=chair)
    ).status_code == 201
    # The review process the statutory test opened ends with the decision: wait for all of it.
    before = await case_events(
        deployment, case_id, "decisioning.chair_decision_recorded", "orchestration.review_not_initiated"
    )
    audit_before = (await deployment.client.get(f"/v1/cases/{case_id}/decisions", headers=HEADERS)).json()
    summary_before = (await deployment.client.get("/v1/region/summary", headers=HEADERS)).json()
    await deployment.stop("projections")
    # The read model is down: the proxy says so for its routes, and the other services keep serving.
    down = await deployment.client.get("/v1/region/summary", headers=HEADERS)
    assert down.status_code == 503 and int(down.headers["retry-after"]) > 0, down.text
    assert (await deployment.client.get("/v1/reviewers", headers=HEADERS)).status_code == 200
    from lif.composition import PROJECTED_TOPICS, make_projector

    projector = await make_projector(deployment.settings.database_url or "")
    try:
        applied = await rebuild_from_kafka(
            projector,
            deployment.settings.kafka_bootstrap or "",
            [deployment.topic(topic) for topic in PROJECTED_TOPICS],
            progress=False,
        )
    finally:
        await projector.pool.close()
    assert applied >= 2
    await deployment.start("projections")
    assert await case_with_recommendation(deployment, case_id) == before
    assert (await deployment.client.get(f"/v1/cases/{case_id}/decisions", headers=HEADERS)).json() == audit_before
    assert (await deployment.client.get("/v1/region/summary", headers=HEADERS)).json() == summary_before
