"""The answers that need another service's data are the same in both runtimes, through one way each.

A Chair's decision lists the pre-decision stages it leaves open (`open_stages`): decisioning keeps them from
orchestration's events. The auditor's timeline quotes the decision's rationale: the read model asks
decisioning for it (over decisioning's internal route behind the proxy, through decisioning's logged read
in one process), and decisioning logs who read it. The same journey runs on the embedded runtime and on
the distributed one behind the reverse proxy (each service on its own database role), and both give the
same answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any
from uuid import UUID

import httpx
import pytest
import pytest_asyncio

from lif.auth import Role, TokenStore
from lif.auth.service import new_service_token
from lif.database_roles import ADMIN as ADMIN_ROLE
from lif.db import create_pool
from lif.erasable import ErasableStore
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from services.decisioning.document_reads import document_reads
from tests.databases import fresh_database
from tests.deployment import Deployment, deployed
from tests.harness import ProxyFactory
from tests.polling import eventually
from tests.review_journeys import Driver, hold_stage, open_case, wait_for_review

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
ADMIN = "one-answer-test-admin-token"
KEY = b"one-answer-test-pseudonym-key-0123456789"
RATIONALE = "Stage 1 was held; the Chair initiates before the chronologies are in."

SeenByDecisioning = Callable[[str, int], Awaitable[None]]
"""Wait until decisioning has followed orchestration's events of a case to `n` open stages."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def deployment(
    kafka_bootstrap: str, database_url: str, reverse_proxy: ProxyFactory
) -> AsyncIterator[Deployment]:
    # Each service on its own database role: the read model's cannot read decisioning's texts, so it asks.
    async with deployed(kafka_bootstrap, database_url, "one_answer", ADMIN, reverse_proxy, roles=True) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def embedded(database_url: str) -> AsyncIterator[EmbeddedSystem]:
    system = await build_embedded(await fresh_database(database_url, "one_answer_embedded"), KEY, ADMIN)
    await system.start()
    yield system
    await system.stop()


async def early_decision(d: Driver, seen: SeenByDecisioning) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Stage 1 held, then the Chair initiates with a rationale; the answer, and the auditor's timeline entry."""
    review = await open_case(d)
    view = await wait_for_review(d, review, lambda v: v["phase"] == "pre_decision", "the pre-decision process")
    stages = {s["stage_id"]: s for s in view["stages"]}
    await hold_stage(d, review, stages["initial_meeting"], date(2015, 3, 16), await d.bm())
    await seen(review.case_id, 2)
    body = {"decision": "initiate_scr", "decided_on": "2015-03-18", "methodology": "targeted"}
    body |= {"criteria_held": ["D4"], "rationale": RATIONALE}
    answer = await d.post(f"/v1/cases/{review.case_id}/decisions", body, await d.chair())
    auditor = await d.as_(Role.AUDITOR, scope="region")

    async def decision_entry() -> dict[str, Any] | None:
        timeline = await d.get(f"/v1/cases/{review.case_id}/decisions", auditor)
        return next((e for e in timeline["entries"] if e["kind"] == "decision"), None)

    entry = await eventually(decision_entry, what="the decision in the auditor's timeline")
    return review.case_id, answer, entry


def comparable(answer: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """What must be equal across runtimes (ids and times differ by nature)."""
    rationale = entry["rationale"]
    return {
        "open_stages": answer["open_stages"],
        "rationale": {k: rationale[k] for k in ("text", "status", "verified", "sha256")},
    }


async def test_the_decisions_open_stages_and_the_timelines_rationale_are_the_same_in_both_runtimes(
    deployment: Deployment, embedded: EmbeddedSystem
) -> None:
    assert deployment.client is not None and deployment.role_database is not None
    admin_pool = await create_pool(deployment.role_database.urls[ADMIN_ROLE], max_size=1)  # tokens: the admin role's

    async def proxied_tokens(role: Role, scope: str, name: str) -> str:
        return str((await TokenStore(admin_pool).create(role, scope, name))[0])

    async def embedded_tokens(role: Role, scope: str, name: str) -> str:
        return str((await embedded.authenticator.store.create(role, scope, name))[0])

    def seen_by(app: Any) -> SeenByDecisioning:
        async def seen(case_id: str, count: int) -> None:
            async def check() -> bool:
                return len(app.open_pre_decision_stages(UUID(case_id))) == count

            await eventually(check, timeout=60, what="decisioning following orchestration's events")

        return seen

    distributed_decisioning = deployment.running["decisioning"].parts["decisioning"]
    try:
        case_d, answer_d, entry_d = await early_decision(
            Driver(deployment.client, proxied_tokens), seen_by(distributed_decisioning)
        )
    finally:
        await admin_pool.close()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=embedded.app), base_url="http://lif") as client:
        case_e, answer_e, entry_e = await early_decision(Driver(client, embedded_tokens), seen_by(embedded.decisioning))

    expected_open = ["spe_chronologies", "planning_meeting"]
    assert [s["stage_id"] for s in answer_d["open_stages"]] == expected_open
    assert all(s["name"] and s["due"] for s in answer_d["open_stages"])
    assert entry_d["rationale"]["text"] == RATIONALE and entry_d["rationale"]["status"] == "verified"
    assert comparable(answer_d, entry_d) == comparable(answer_e, entry_e)
    # What orchestration itself says is open agrees with decisioning's answer, in each runtime.
    orchestration = deployment.running["orchestration"].parts["orchestration"]
    assert orchestration.open_pre_decision_stages(UUID(case_d)) == answer_d["open_stages"]
    assert embedded.orchestration.open_pre_decision_stages(UUID(case_e)) == answer_e["open_stages"]

    # Decisioning, the owner of the text, logged each read as the read model's.
    documents_d: ErasableStore = deployment.running["decisioning"].parts["actions"].documents
    for documents, case_id in ((documents_d, case_d), (embedded.actions.documents, case_e)):
        reads = document_reads(documents, UUID(case_id))
        assert reads and {(r["reader"], r["found"]) for r in reads} == {("projections", True)}


async def test_decisionings_documents_are_served_internally_to_the_read_model_only(deployment: Deployment) -> None:
    documents: ErasableStore = deployment.running["decisioning"].parts["actions"].documents
    with documents.pool.connection() as conn:
        row = conn.execute(f"SELECT id, lscb, case_id FROM {documents.table} LIMIT 1").fetchone()
    assert row is not None, "the journey above filed a rationale"
    document_id, lscb, case_id = row
    path = f"/internal/v1/documents/{lscb}/{document_id}?case_id={case_id}"
    before = len(document_reads(documents, case_id))

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async with httpx.AsyncClient(base_url=deployment.service_url("decisioning")) as decisioning:
        assert (await decisioning.get(path)).status_code == 401
        assert (await decisioning.get(path, headers=bearer(new_service_token("projections")))).status_code == 401
        assert (await decisioning.get(path, headers=bearer(ADMIN))).status_code == 401  # a user's token is no service's
        refused = await decisioning.get(path, headers=bearer(deployment.service_tokens["intake"]))
        assert refused.status_code == 403, refused.text
        assert len(document_reads(documents, case_id)) == before  # refusals read nothing
        served = await decisioning.get(path, headers=bearer(deployment.service_tokens["projections"]))
    assert served.status_code == 200 and served.json()["text"] == RATIONALE
    assert [r["reader"] for r in document_reads(documents, case_id)[before:]] == ["projections"]

    assert deployment.client is not None
    proxied = await deployment.client.get(path, headers=bearer(deployment.service_tokens["projections"]))
    assert proxied.status_code == 404 and RATIONALE not in proxied.text  # the proxy never forwards internal routes
