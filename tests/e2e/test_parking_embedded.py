"""A poison event in a service's log stops no consumer of the embedded runtime: it is parked, others go on.

The poison is written straight into intake's event store, as an event accepted before validation existed
would be. Each consumer that cannot process it parks it with the reason (and the same case's later events
behind it), records the position, and the next good incident of another board is recommended and projected.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from lif.composition import open_logs
from lif.delivery.parking import ParkedEvent
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from lif.runtime.stopping import stop_tasks
from projections.rebuild import rebuild_from_logs
from tests.databases import fresh_database
from tests.poison import FAR_FUTURE, FAR_FUTURE_REASONS, NUL_REASONS, NUL_SUBJECT, incident_envelope, inject
from tests.polling import eventually
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ADMIN = "parking-test-admin-token"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}
KEY = b"parking-test-pseudonym-key-0123456789"


@pytest.fixture
async def url(database_url: str) -> str:
    return await fresh_database(database_url, "parking")


@pytest.fixture
async def system(url: str) -> AsyncIterator[EmbeddedSystem]:
    system = await build_embedded(url, KEY, ADMIN)
    await system.start()
    yield system
    await system.stop()


@pytest.fixture
async def client(system: EmbeddedSystem) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=system.app), base_url="http://lif") as client:
        yield client


def parking_of(system: EmbeddedSystem, consumer: str) -> Any:
    return next(f.parking for f in system.followers if f.parking.name == consumer)


async def parked(system: EmbeddedSystem, consumer: str, case_id: str) -> list[ParkedEvent]:
    found = await parking_of(system, consumer).parked.select()
    return [p for p in found if str(p.case_id) == case_id]


async def recommended_and_projected(client: httpx.AsyncClient, lscb: str) -> dict[str, Any]:
    """Submit a good incident of `lscb` and wait until its recommendation is in the read model."""
    response = await client.post(
        "/v1/incidents", json=notification(lscb=lscb, child__normally_resident_lscb=lscb), headers=HEADERS
    )
    assert response.status_code == 202, response.text
    case_id = response.json()["case_id"]

    async def projected() -> dict[str, Any] | None:
        case = (await client.get(f"/v1/cases/{case_id}", headers=HEADERS)).json()
        return case if case.get("recommendation") and case.get("child") else None

    return await eventually(projected, what=f"{lscb} case {case_id} recommended and projected")


async def test_a_nul_in_the_child_is_parked_by_the_projections_and_the_next_board_is_projected(
    system: EmbeddedSystem, client: httpx.AsyncClient, url: str
) -> None:
    poison = incident_envelope("MAN", child__subject_ref=NUL_SUBJECT)
    await asyncio.to_thread(inject, system.intake, poison)

    async def parked_head() -> list[ParkedEvent]:
        return await parked(system, "projections", poison["case_id"])

    head, *_ = await eventually(parked_head, what="the NUL incident parked by the projections")
    assert head.event_id == UUID(poison["event_id"])
    assert head.behind is None and head.position_key == "log:intake"
    assert head.reason.startswith(NUL_REASONS), head.reason
    assert head.envelope["payload"]["child"]["subject_ref"] == NUL_SUBJECT  # kept as it came

    # The contract refuses NUL, so decisioning parks it too (each consumer in its own store); any later
    # event of this case reaching the projections is parked behind the head.
    assert all(p.behind == head.event_id for p in await parked_head() if p.event_id != head.event_id)

    case = await recommended_and_projected(client, "BOL")
    assert case["recommendation"]["review_type"] == "serious_case_review"
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "degraded"
    assert body["consumers"]["projections"]["parked"] >= 1 and body["consumers"]["projections"]["running"] is True
    assert str(head.event_id) in [e["event_id"] for e in body["consumers"]["projections"]["events"]]
    assert body["consumers"]["decisioning"]["parked"] == 1

    # A rebuild from the logs goes through the same parking: it parks the poison again and finishes.
    assert await stop_tasks(system.tasks) == []  # the live followers stop first, as for `lif projections rebuild`
    logs = await asyncio.to_thread(open_logs, url)
    try:
        applied = await rebuild_from_logs(system.projector, logs, progress=False)
    finally:
        for _, app in logs:
            app.close()
    assert applied >= 4
    (again,) = [p for p in await parked_head() if p.behind is None]
    assert again.event_id == head.event_id and again.reason == head.reason
    assert (await client.get(f"/v1/cases/{case['case_id']}", headers=HEADERS)).json()["child"]


async def test_a_date_overflow_is_parked_by_decisioning_and_the_next_board_is_recommended(
    system: EmbeddedSystem, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/readyz")).json()["status"] == "ready"
    poison = incident_envelope("MAN", incident_date=FAR_FUTURE, notified_date=FAR_FUTURE)
    await asyncio.to_thread(inject, system.intake, poison)

    async def parked_by_decisioning() -> list[ParkedEvent]:
        return await parked(system, "decisioning", poison["case_id"])

    (head,) = await eventually(parked_by_decisioning, what="the far-future incident parked by decisioning")
    assert head.reason.startswith(FAR_FUTURE_REASONS), head.reason
    assert await asyncio.to_thread(system.decisioning.get_case, head.case_id) is None

    case = await recommended_and_projected(client, "WGN")
    assert case["lscb"] == "WGN"
    await system.catch_up()
    # The position moved past the poison: nothing is retried, and nothing more is parked for it.
    assert len(await parked_by_decisioning()) == 1
    assert (await client.get("/readyz")).json()["consumers"]["decisioning"]["parked"] == 1


async def test_stop_is_bounded_and_leaves_no_follower_running(system: EmbeddedSystem) -> None:
    tasks = list(system.tasks)
    for _ in range(50):  # wake-ups racing the cancel: the race that used to swallow it
        for follower in system.followers:
            follower.wakeup.set()
        await asyncio.sleep(0)
    async with asyncio.timeout(30):
        await system.stop(timeout=10)
    assert tasks and all(task.done() for task in tasks)
