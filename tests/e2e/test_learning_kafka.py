"""Learning collation over a real Kafka broker: every target of `lif serve` in this process, behind the
reverse proxy. Two boards close reviews and a forum and an audit are recorded; learning asks orchestration
for each summary over its internal route, and decisioning learns the held themes from `lif.learning.v1`,
so a third board's MACR candidate is recommended an embedding review with no hand registration."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from lif.auth import Role
from tests.deployment import Deployment, deployed
from tests.harness import ProxyFactory
from tests.learning_journeys import MACR_FACTS, collate
from tests.polling import eventually
from tests.review_journeys import Driver, open_case

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
ADMIN = "learning-kafka-test-admin-token"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def deployment(
    kafka_bootstrap: str, database_url: str, reverse_proxy: ProxyFactory
) -> AsyncIterator[Deployment]:
    async with deployed(kafka_bootstrap, database_url, "learning_kafka", ADMIN, reverse_proxy) as running:
        yield running


def driver_for(deployment: Deployment, lscb: str) -> Driver:
    assert deployment.client is not None
    store = deployment.running["projections"].parts["app"].state.authenticator.store

    async def tokens(role: Role, scope: str, name: str) -> str:
        value, _ = await store.create(role, scope, name)
        return str(value)

    return Driver(deployment.client, tokens, lscb=lscb)


async def test_learning_over_kafka_feeds_the_register_search_and_repeat_learning(deployment: Deployment) -> None:
    bol, man, wgn = (driver_for(deployment, b) for b in ("BOL", "MAN", "WGN"))
    collated = await collate(bol, man)
    analyst = await bol.as_(Role.REGIONAL_ANALYST)
    region = await bol.get("/v1/learning/register", analyst)
    assert region["total"] == 4
    for review in (collated.scr, collated.macr):
        assert review.case_id not in json.dumps(region) and review.review_id not in json.dumps(region)
    own = await bol.get("/v1/learning/register?lscb=BOL&source_kind=review", await bol.bm())
    assert [s["case_id"] for s in own["sources"]] == [collated.scr.case_id]
    panel = await bol.get("/v1/learning/search?typology=national-panel-practice-themes&code=whole_family", analyst)
    assert [(s["source_kind"], s["matched_by"]["how"]) for s in panel["sources"]] == [("forum", "crosswalk")]
    words = await bol.get("/v1/learning/search?q=disguised+compliance", analyst)
    assert [s["source_kind"] for s in words["sources"]] == ["forum"]

    # Decisioning learns the held themes from lif.learning.v1: no hand registration.
    async def held() -> list[dict[str, object]] | None:
        closed = await wgn.get("/v1/learning/closed-reviews", await wgn.bm())
        reviews: list[dict[str, object]] = closed["reviews"]
        return reviews if len(reviews) == 4 else None

    await eventually(held, what="decisioning's register fed from lif.learning.v1", timeout=60)
    case = await open_case(wgn, **MACR_FACTS)
    themes = {"themes": ["human_judgement"]}
    tagged = await wgn.post(f"/v1/cases/{case.case_id}/learning-themes", themes, await wgn.bm())
    recommended = [e for e in tagged["events"] if e["event_type"] == "decisioning.recommendation_recorded"]
    assert [e["payload"]["recommendation"]["review_type"] for e in recommended] == ["embedding_review"]
    earlier = recommended[0]["payload"]["recommendation"]["repeat_learning"]["earlier_reviews"]
    assert {"Bolton's SCR closed 2015-09", "Manchester's MACR closed 2015-08"} <= set(earlier)
    assert collated.scr.reference_code not in json.dumps(recommended)

    # The report inputs over learning's internal route, with the reporting service's credential.
    url = f"{deployment.service_url('learning')}/internal/v1/learning/region/report-inputs"
    async with httpx.AsyncClient() as client:
        period = {"from": "2015-04-01", "to": "2016-03-31"}
        refused = await client.get(url, params=period)
        assert refused.status_code == 401
        token = deployment.service_tokens["reporting"]
        answer = await client.get(url, params=period, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    inputs = answer.json()
    assert len(inputs["sources"]) == 4 and collated.scr.case_id not in answer.text
    assert {"sources", "recommendations"} <= set(inputs)
