"""Each service's HTTP side behind the real reverse proxy: the internal summary route with real service
credentials over real HTTP, and a service stopped and started again while the others keep serving."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
import pytest_asyncio

from lif.auth.service import new_service_token
from services.intake.summary_reads import summary_reads
from tests.deployment import Deployment, deployed
from tests.harness import ProxyFactory
from tests.polling import eventually
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
ADMIN = "behind-proxy-test-admin-token"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def deployment(
    kafka_bootstrap: str, database_url: str, reverse_proxy: ProxyFactory
) -> AsyncIterator[Deployment]:
    async with deployed(kafka_bootstrap, database_url, "behind_proxy", ADMIN, reverse_proxy) as running:
        yield running


def client(deployment: Deployment) -> httpx.AsyncClient:
    assert deployment.client is not None
    return deployment.client


async def projected_case(deployment: Deployment, case_id: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        answer = await client(deployment).get(f"/v1/cases/{case_id}", headers=HEADERS)
        body = answer.json() if answer.status_code == 200 else {}
        return body if body.get("recommendation") else None

    return await eventually(check, timeout=60, what=f"case {case_id} with its recommendation")


def summary_ref_of(deployment: Deployment, case_id: str) -> UUID:
    intake = deployment.running["intake"].parts["intake"]
    with intake.personal.pool.connection() as conn:
        row = conn.execute(
            f"SELECT id FROM {intake.personal.table} WHERE case_id = %s AND kind = 'incident_summary'", (case_id,)
        ).fetchone()
    assert row is not None
    return UUID(str(row[0]))


async def test_the_incident_summary_is_served_internally_to_decisioning_only_and_each_read_is_logged(
    deployment: Deployment,
) -> None:
    doc = notification()
    accepted = await client(deployment).post("/v1/incidents", json=doc, headers=HEADERS)
    assert accepted.status_code == 202, accepted.text
    case_id = accepted.json()["case_id"]
    path = f"/internal/v1/incident-summaries/{doc['lscb']}/{summary_ref_of(deployment, case_id)}?case_id={case_id}"

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async with httpx.AsyncClient(base_url=deployment.service_url("intake")) as intake:
        assert (await intake.get(path)).status_code == 401
        assert (await intake.get(path, headers=bearer(new_service_token("decisioning")))).status_code == 401
        assert (await intake.get(path, headers=HEADERS)).status_code == 401  # a user's token is no service's
        refused = await intake.get(path, headers=bearer(deployment.service_tokens["orchestration"]))
        assert refused.status_code == 403, refused.text
        assert summary_reads(deployment.running["intake"].parts["intake"], UUID(case_id)) == []
        served = await intake.get(path, headers=bearer(deployment.service_tokens["decisioning"]))
    assert served.status_code == 200 and served.json() == {"summary": doc["summary"]}
    reads = summary_reads(deployment.running["intake"].parts["intake"], UUID(case_id))
    assert [(r["reader"], r["found"], r["lscb"]) for r in reads] == [("decisioning", True, doc["lscb"])]

    # The proxy never forwards internal routes, whatever the credential.
    proxied = await client(deployment).get(path, headers=bearer(deployment.service_tokens["decisioning"]))
    assert proxied.status_code == 404 and doc["summary"] not in proxied.text


async def test_a_stopped_decisioning_gets_503_from_the_proxy_while_the_others_serve_then_serves_again(
    deployment: Deployment,
) -> None:
    before = await client(deployment).post("/v1/incidents", json=notification(), headers=HEADERS)
    case_id = before.json()["case_id"]
    await projected_case(deployment, case_id)

    await deployment.stop("decisioning")
    try:
        for answer in (
            await client(deployment).get("/v1/reviewers", headers=HEADERS),
            await client(deployment).post(f"/v1/cases/{case_id}/decisions", json={}, headers=HEADERS),
        ):
            assert answer.status_code == 503, answer.text
            assert int(answer.headers["retry-after"]) > 0
        # Reads, intake and the reviews keep serving.
        assert (await client(deployment).get(f"/v1/cases/{case_id}", headers=HEADERS)).status_code == 200
        assert (await client(deployment).get("/v1/region/reviews", headers=HEADERS)).status_code == 200
        during = await client(deployment).post("/v1/incidents", json=notification(), headers=HEADERS)
        assert during.status_code == 202, during.text
    finally:
        await deployment.start("decisioning")

    assert (await client(deployment).get("/v1/reviewers", headers=HEADERS)).status_code == 200
    # The incident received while decisioning was down is recommended once it is back.
    await projected_case(deployment, during.json()["case_id"])
