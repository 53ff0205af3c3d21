"""Poison events stop no consumer of the distributed runtime over real Kafka, and projections resume fast.

One poison is published on the intake topic directly (as a foreign or old producer would), the other is
written into intake's event store before the relay (as an event accepted before validation existed). The
consumer that cannot process each parks it in its own schema and on the topic's `.dlq`, records the
offset, and the next good incident of another board is recommended and projected.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from events import topics
from lif.delivery.parking import Parking
from tests.deployment import Deployment, deployed
from tests.harness import ProxyFactory
from tests.poison import FAR_FUTURE, FAR_FUTURE_REASONS, NUL_REASONS, NUL_SUBJECT, incident_envelope, inject
from tests.polling import eventually
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
ADMIN = "parking-kafka-test-admin-token"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def deployment(
    kafka_bootstrap: str, database_url: str, reverse_proxy: ProxyFactory
) -> AsyncIterator[Deployment]:
    async with deployed(kafka_bootstrap, database_url, "parkkafka", ADMIN, reverse_proxy) as running:
        yield running


def parking(deployment: Deployment, target: str) -> Parking:
    found = deployment.running[target].parts["parking"]
    assert isinstance(found, Parking)
    return found


async def good_incident_projected(deployment: Deployment, lscb: str, timeout: float = 60) -> dict[str, Any]:
    assert deployment.client is not None
    doc = notification(lscb=lscb, child__normally_resident_lscb=lscb)
    response = await deployment.client.post("/v1/incidents", json=doc, headers=HEADERS)
    assert response.status_code == 202, response.text
    case_id = response.json()["case_id"]

    async def projected() -> dict[str, Any] | None:
        case = (await deployment.client.get(f"/v1/cases/{case_id}", headers=HEADERS)).json()  # type: ignore[union-attr]
        return case if case.get("recommendation") and case.get("child") else None

    return await eventually(projected, timeout=timeout, what=f"{lscb} case {case_id} recommended and projected")


async def dead_letters(deployment: Deployment, topic: str, event_id: str) -> list[Any]:
    """The records of `topic`'s dead-letter topic that carry this event (read from the start)."""
    consumer = AIOKafkaConsumer(
        deployment.topic(topics.dead_letter(topic)),
        bootstrap_servers=deployment.settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    found: list[Any] = []
    try:

        async def arrived() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(r for r in records if dict(r.headers).get("lif-event-id", b"").decode() == event_id)
            return bool(found)

        await eventually(arrived, timeout=30, what=f"a dead letter of {event_id}")
    finally:
        await consumer.stop()
    return found


async def test_a_nul_published_on_the_intake_topic_is_parked_by_the_projections(deployment: Deployment) -> None:
    poison = incident_envelope("MAN", child__subject_ref=NUL_SUBJECT)
    producer = AIOKafkaProducer(bootstrap_servers=deployment.settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            deployment.topic(topics.INTAKE),
            json.dumps(poison).encode(),
            key=poison["case_id"].encode(),
            headers=[("lif-event-id", poison["event_id"].encode())],
        )
    finally:
        await producer.stop()
    projections = parking(deployment, "projections")

    async def parked() -> Any:
        return await projections.parked.get(UUID(poison["event_id"]))

    head = await eventually(parked, timeout=60, what="the NUL incident parked by the projections")
    assert head.reason.startswith(NUL_REASONS) and head.behind is None
    assert head.position_key.startswith(f"kafka:{deployment.topic(topics.INTAKE)}:")
    letters = await dead_letters(deployment, topics.INTAKE, poison["event_id"])
    letter = next(r for r in letters if dict(r.headers)["lif-dlq-reason"].startswith(b"parked by projections"))
    headers = {k: v.decode() for k, v in letter.headers}
    assert headers["lif-dlq-reason"] == "parked by projections: " + head.reason
    assert headers["lif-dlq-consumer-group"] == deployment.topic("lif-projections")
    assert json.loads(letter.value) == poison

    case = await good_incident_projected(deployment, "BOL")
    assert case["recommendation"]["review_type"] == "serious_case_review"


async def test_a_date_overflow_in_intakes_log_is_parked_by_decisioning(deployment: Deployment) -> None:
    assert deployment.client is not None
    poison = incident_envelope("MAN", incident_date=FAR_FUTURE, notified_date=FAR_FUTURE)
    inject(deployment.running["intake"].parts["intake"], poison)  # before the relay, as an old event would be
    decisions = parking(deployment, "decisioning")

    async def parked() -> Any:
        return await decisions.parked.get(UUID(poison["event_id"]))

    head = await eventually(parked, timeout=60, what="the far-future incident parked by decisioning")
    assert head.reason.startswith(FAR_FUTURE_REASONS), head.reason
    letters = await dead_letters(deployment, topics.INTAKE, poison["event_id"])
    reasons = {dict(r.headers)["lif-dlq-reason"].decode() for r in letters}
    assert "parked by decisioning: " + head.reason in reasons

    case = await good_incident_projected(deployment, "WGN")
    assert case["lscb"] == "WGN"
    # Each service reports its own consumer's readiness (the proxy's /readyz is the read model's).
    async with httpx.AsyncClient(base_url=deployment.service_url("decisioning")) as decisioning:
        ready = await decisioning.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "degraded"
    # The module's deployment is shared: an earlier test's poison may be parked by decisioning too.
    assert poison["event_id"] in [e["event_id"] for e in ready.json()["consumers"]["decisioning"]["events"]]


async def test_projections_resume_quickly_after_a_restart(deployment: Deployment) -> None:
    """One consumer for the three topics: a restarted projections process joins its group once."""
    await good_incident_projected(deployment, "BOL")
    await deployment.stop("projections")
    started = time.perf_counter()
    await deployment.start("projections")
    case = await good_incident_projected(deployment, "SAL")
    resumed = time.perf_counter() - started
    print(f"projections resumed in {resumed:.1f}s after a restart")
    assert case["lscb"] == "SAL"
    assert resumed < 9.0, f"projections took {resumed:.1f}s to resume"

