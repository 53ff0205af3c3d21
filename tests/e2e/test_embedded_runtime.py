"""The embedded runtime end to end: HTTP in, in-process delivery with tracking, projection out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from lif.auth import Role
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from projections.rebuild import rebuild_from_logs
from tests.databases import fresh_database
from tests.polling import eventually
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ADMIN = "embedded-test-admin-token"
KEY = b"embedded-test-pseudonym-key-0123456789"


@pytest.fixture
async def system(database_url: str) -> AsyncIterator[EmbeddedSystem]:
    url = await fresh_database(database_url, "embedded")
    system = await build_embedded(url, KEY, ADMIN)
    await system.start()
    yield system
    await system.stop()


@pytest.fixture
async def client(system: EmbeddedSystem) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=system.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lif") as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def wait_for_recommendation(client: httpx.AsyncClient, case_id: str, token: str = ADMIN) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        response = await client.get(f"/v1/cases/{case_id}", headers=auth(token))
        if response.status_code == 200 and response.json()["recommendation"]:
            return response.json()  # type: ignore[no-any-return]
        return None

    return await eventually(check, what=f"recommendation of case {case_id}")


async def test_incident_reaches_the_board_projection_with_its_recommendation(
    client: httpx.AsyncClient, system: EmbeddedSystem
) -> None:
    response = await client.post("/v1/incidents", json=notification(), headers=auth(ADMIN))
    assert response.status_code == 202, response.text
    case_id = response.json()["case_id"]

    case = await wait_for_recommendation(client, case_id)
    rec = case["recommendation"]
    assert rec["review_type"] == "serious_case_review"
    assert rec["statutory_scr"] is True
    assert rec["methodology_hint"] == "intensive"
    assert rec["rules_fired"][:3] == ["A1", "A3", "A4"]
    assert rec["rule_pack"] == "nwlif-2015"
    assert rec["deadlines"] == {"chair_decision_due": "2015-04-10"}
    assert [d["name"] for d in case["deadlines"]] == ["chair_decision_due"]
    await system.catch_up()
    case = (await client.get(f"/v1/cases/{case_id}", headers=auth(ADMIN))).json()
    assert [e["event_type"] for e in case["events"]] == [
        "intake.incident_received",
        "decisioning.recommendation_recorded",
        "orchestration.review_process_opened",  # considered for an SCR: the pre-decision stages start at once
        "orchestration.review_plan_started",
    ]
    listing = (await client.get("/v1/lscbs/BOL/cases", headers=auth(ADMIN))).json()
    assert case_id in [c["case_id"] for c in listing["cases"]]


async def test_duplicate_submission_gives_one_case_and_one_recommendation(
    client: httpx.AsyncClient, system: EmbeddedSystem
) -> None:
    doc = notification()
    first = await client.post("/v1/incidents", json=doc, headers=auth(ADMIN))
    again = await client.post("/v1/incidents", json=doc, headers=auth(ADMIN))
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["case_id"] == again.json()["case_id"]
    changed = dict(doc, summary="A different account of the same referral.")
    conflict = await client.post("/v1/incidents", json=changed, headers=auth(ADMIN))
    assert conflict.status_code == 409
    assert conflict.json()["case_id"] == first.json()["case_id"]

    case = await wait_for_recommendation(client, first.json()["case_id"])
    await system.catch_up()
    case = (await client.get(f"/v1/cases/{first.json()['case_id']}", headers=auth(ADMIN))).json()
    assert len(case["events"]) == len({e["event_id"] for e in case["events"]}) == 4  # each event once
    threshold = system.decisioning.get_case(first.json()["case_id"])
    assert threshold is not None and len(threshold.recommendations) == 1


async def test_a_board_cannot_read_another_boards_case(client: httpx.AsyncClient, system: EmbeddedSystem) -> None:
    store = system.authenticator.store
    bolton, _ = await store.create(Role.BUSINESS_MANAGER, "BOL", "bol-bm")
    wigan, _ = await store.create(Role.BUSINESS_MANAGER, "WGN", "wgn-bm")
    analyst, _ = await store.create(Role.REGIONAL_ANALYST, "region", "analyst")
    response = await client.post("/v1/incidents", json=notification(), headers=auth(bolton))
    assert response.status_code == 202
    case_id = response.json()["case_id"]
    await wait_for_recommendation(client, case_id, bolton)

    assert (await client.get(f"/v1/cases/{case_id}", headers=auth(wigan))).status_code == 404
    assert (await client.get("/v1/lscbs/BOL/cases", headers=auth(wigan))).status_code == 404
    assert (await client.post("/v1/incidents", json=notification(), headers=auth(wigan))).status_code == 403
    assert (await client.get("/v1/region/summary", headers=auth(wigan))).status_code == 403
    assert (await client.get(f"/v1/cases/{case_id}", headers=auth(analyst))).status_code == 403
    summary = (await client.get("/v1/region/summary", headers=auth(analyst))).json()
    assert summary["boards"]["BOL"]["by_review_type"]["serious_case_review"] >= 1
    assert (await client.get(f"/v1/cases/{case_id}")).status_code == 401
    assert (await client.get("/healthz")).status_code == 200


async def test_invalid_input_gets_one_message_per_bad_field_and_records_nothing(
    client: httpx.AsyncClient, system: EmbeddedSystem
) -> None:
    doc = notification(
        facts__outcome="harmed", facts__place_of_death="custody", notified_date="2015-01-01", colour="blue"
    )
    doc["facts"]["abuse_or_neglect"] = "maybe"
    response = await client.post("/v1/incidents", json=doc, headers=auth(ADMIN))
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["detail"]}
    assert {"colour", "facts.abuse_or_neglect"} <= fields
    cross = notification(facts__outcome="harmed", facts__place_of_death="custody")
    response = await client.post("/v1/incidents", json=cross, headers=auth(ADMIN))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["detail"]] == ["facts.place_of_death"]
    early = notification(notified_date="2015-01-01")
    response = await client.post("/v1/incidents", json=early, headers=auth(ADMIN))
    assert [e["field"] for e in response.json()["detail"]] == ["notified_date"]
    unknown = notification(lscb="XYZ")
    response = await client.post("/v1/incidents", json=unknown, headers=auth(ADMIN))
    assert response.status_code == 422 and "XYZ" in response.text
    assert system.intake.recorder.max_notification_id() in (None, 0)  # type: ignore[attr-defined]


async def test_rebuild_from_the_logs_gives_the_same_views(client: httpx.AsyncClient, system: EmbeddedSystem) -> None:
    ids = []
    for facts in ({}, {"facts__abuse_or_neglect": "not_suspected"}, {"facts__practice_concern_single_agency": True}):
        response = await client.post("/v1/incidents", json=notification(**facts), headers=auth(ADMIN))
        ids.append(response.json()["case_id"])
    for case_id in ids:
        await wait_for_recommendation(client, case_id)
    await system.catch_up()  # the review processes the statutory case opened, too
    before = [(await client.get(f"/v1/cases/{case_id}", headers=auth(ADMIN))).json() for case_id in ids]
    summary_before = (await client.get("/v1/region/summary", headers=auth(ADMIN))).json()

    logs = [("intake", system.intake), ("decisioning", system.decisioning), ("orchestration", system.orchestration)]
    applied = await rebuild_from_logs(system.projector, logs, progress=False)
    assert applied == 6 + 4  # two of the three pass the statutory test: a process each, opened and planned
    after = [(await client.get(f"/v1/cases/{case_id}", headers=auth(ADMIN))).json() for case_id in ids]
    assert after == before
    assert (await client.get("/v1/region/summary", headers=auth(ADMIN))).json() == summary_before


async def test_personal_details_stay_out_of_the_event_log(client: httpx.AsyncClient, system: EmbeddedSystem) -> None:
    doc = notification(summary="Unique narrative 5c1e about the family at 12 Example Street.")
    response = await client.post("/v1/incidents", json=doc, headers=auth(ADMIN))
    case_id = response.json()["case_id"]
    stored = system.intake.recorder.select_notifications(start=1, limit=1000)  # type: ignore[attr-defined]
    text = b"".join(n.state for n in stored)
    assert b"5c1e" not in text and doc["source"]["reference"].encode() not in text
    case = await wait_for_recommendation(client, case_id)
    assert "5c1e" not in str(case)
    summary_ref = case["events"][0]["payload"]["summary_ref"]
    import uuid

    assert system.intake.personal.get(uuid.UUID(summary_ref), "BOL") == doc["summary"]
