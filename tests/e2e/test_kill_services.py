"""kill -9 of each service's process in the distributed runtime, behind the real reverse proxy.

While a client posts through the proxy (each request with an Idempotency-Key, retried until answered), one
service's process is killed with SIGKILL: the proxy answers 503 with Retry-After for that service's routes
while the other services keep answering theirs, and once the service is started again the client's retries
complete. Then every store and log holds each effect exactly once: nothing lost, nothing duplicated.

The four cases share one deployment (four `lif serve` processes and one nginx), each on its own cases.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import pytest_asyncio

from lif.auth import Role, TokenStore
from lif.composition import open_logs
from lif.db import create_pool
from lif.delivery.log import read_log
from lif.runtime.targets import TARGETS
from tests.databases import fetch, fresh_database
from tests.harness import ProxyFactory, create_prefixed_topics, unique_prefix
from tests.polling import eventually
from tests.samples import notification
from tests.service_processes import ServiceProcesses

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
ADMIN = "kill-services-test-admin-token"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}
POSTS = 6
KILL_AFTER = 2
"""The client has had this many answers when the service is killed."""
RETRY_INTERVAL = 0.1
UNAVAILABLE = {502, 503, 504}
PROBES: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "intake": ("POST", "/v1/incidents", {}),  # 422 from intake itself
    "decisioning": ("GET", "/v1/reviewers", None),
    "orchestration": ("GET", f"/v1/reviews/{uuid4()}", None),  # 404 from orchestration itself
    "projections": ("GET", "/v1/region/summary", None),
    "notifications": ("GET", "/v1/region/obligations", None),
    "learning": ("GET", "/v1/learning/register", None),
    "web": ("GET", "/app/sign-in", None),
}
"""One request per service that its own process answers (never 5xx) while it runs."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def services(
    kafka_bootstrap: str, database_url: str, reverse_proxy: ProxyFactory, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceProcesses]:
    prefix = unique_prefix()
    await create_prefixed_topics(kafka_bootstrap, prefix)
    environment = {
        "DATABASE_URL": await fresh_database(database_url, "kill_services"),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "LIF_TOPIC_PREFIX": prefix,
        "LIF_PSEUDONYM_KEY": "kill-services-test-pseudonym-key-0123456789",
        "LIF_BOOTSTRAP_TOKEN": ADMIN,
        "LIF_RATE_LIMIT_PER_TOKEN": "1000000",  # the client retries fast
    }
    processes = ServiceProcesses(environment, Path(tmp_path_factory.mktemp("kill-services")))
    try:
        await asyncio.to_thread(processes.start, *(target for target in TARGETS if target != "web"))
        upstreams = {target: f"127.0.0.1:{port}" for target, port in processes.ports.items()}
        processes.proxy = await asyncio.to_thread(reverse_proxy, upstreams)
        await asyncio.to_thread(processes.start, "web")  # a client of the API through the proxy
        yield processes
    finally:
        await asyncio.to_thread(processes.stop)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(services: ServiceProcesses) -> AsyncIterator[httpx.AsyncClient]:
    assert services.proxy is not None
    async with httpx.AsyncClient(base_url=services.proxy.url, timeout=30.0) as proxied:
        yield proxied


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chair(services: ServiceProcesses) -> dict[str, str]:
    """The Authorization header of Bolton's Chair (the sample notifications are Bolton's)."""
    pool = await create_pool(services.environment["DATABASE_URL"], max_size=1)
    try:
        token, _ = await TokenStore(pool).create(Role.CHAIR, "BOL", "kill-services-chair")
    finally:
        await pool.close()
    return {"Authorization": f"Bearer {token}"}


async def retried(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], key: str, headers: dict[str, str]
) -> list[httpx.Response]:
    """Every answer to one POST with `key`, retried while the proxy says the service is unavailable (or the
    connection breaks), up to the first real answer, which is last."""
    answers: list[httpx.Response] = []
    for _ in range(1200):
        try:
            answer = await client.post(path, json=body, headers=headers | {"Idempotency-Key": key})
        except httpx.TransportError:
            await asyncio.sleep(RETRY_INTERVAL)  # a client's back-off before retrying, not synchronisation
            continue
        answers.append(answer)
        if answer.status_code not in UNAVAILABLE:
            return answers
        assert int(answer.headers["retry-after"]) > 0, answer.headers
        await asyncio.sleep(RETRY_INTERVAL)
    raise AssertionError(f"POST {path} was never answered: {[a.status_code for a in answers][-5:]}")


async def post_all(
    client: httpx.AsyncClient,
    posts: list[tuple[str, dict[str, Any], str]],
    headers: dict[str, str],
    answered: asyncio.Event,
) -> list[list[httpx.Response]]:
    """The client: each post in turn, retried until answered; `answered` is set after KILL_AFTER of them."""
    results = []
    for path, body, key in posts:
        results.append(await retried(client, path, body, key, headers))
        if len(results) == KILL_AFTER:
            answered.set()
    answered.set()
    return results


async def recommended_cases(client: httpx.AsyncClient, count: int) -> list[str]:
    """`count` new cases, each once its recommendation is in the read model (a decision can be taken)."""
    case_ids = []
    for _ in range(count):
        accepted = await client.post("/v1/incidents", json=notification(), headers=HEADERS)
        assert accepted.status_code == 202, accepted.text
        case_ids.append(accepted.json()["case_id"])
    for case_id in case_ids:
        await visible(client, case_id, lambda case: bool(case.get("recommendation")), "its recommendation")
    return case_ids


async def visible(client: httpx.AsyncClient, case_id: str, ready: Any, what: str, timeout: float = 120) -> None:
    async def check() -> bool:
        answer = await client.get(f"/v1/cases/{case_id}", headers=HEADERS)
        return answer.status_code == 200 and ready(answer.json())

    await eventually(check, timeout=timeout, what=f"case {case_id} with {what}")


def logged(database_url: str, case_ids: set[str]) -> Counter[tuple[str, str]]:
    """(case id, event type) -> how many times each service's own log holds it (blocking)."""
    counts: Counter[tuple[str, str]] = Counter()
    for _, app in open_logs(database_url):
        try:
            for item in read_log(app, 0, 1_000_000):
                if str(item.case_id) in case_ids:
                    counts[(str(item.case_id), str(item.envelope["event_type"]))] += 1
        finally:
            app.close()
    return counts


async def projected(database_url: str, case_ids: set[str]) -> Counter[tuple[str, str]]:
    rows = await fetch(
        database_url,
        "SELECT case_id::text AS case_id, event_type FROM lif_projections.case_events WHERE case_id = ANY($1::uuid[])",
        [UUID(c) for c in case_ids],
    )
    return Counter((row["case_id"], row["event_type"]) for row in rows)


@pytest.mark.parametrize("target", TARGETS)
async def test_a_service_killed_with_sigkill_gets_503_then_the_clients_retries_complete_exactly_once(
    services: ServiceProcesses, client: httpx.AsyncClient, chair: dict[str, str], target: str
) -> None:
    database_url = services.environment["DATABASE_URL"]
    poster_headers = HEADERS
    if target in ("intake", "projections"):
        docs = [notification() for _ in range(POSTS)]
        posts = [("/v1/incidents", doc, f"incident-{doc['source']['reference']}") for doc in docs]
    else:  # the Chair's decisions: decisioning records them, orchestration reacts to them
        cases = await recommended_cases(client, POSTS)
        rationale = {"decision": "no_review", "rationale": "Agencies agree no review is needed."}
        posts = [(f"/v1/cases/{case_id}/decisions", rationale, f"decision-{case_id}") for case_id in cases]
        poster_headers = chair

    answered = asyncio.Event()
    poster = asyncio.create_task(post_all(client, posts, poster_headers, answered))
    await answered.wait()
    await asyncio.to_thread(services.kill, target)
    try:
        method, path, body = PROBES[target]
        down = await client.request(method, path, json=body, headers=HEADERS)
        assert down.status_code == 503 and int(down.headers["retry-after"]) > 0, down.text
        assert target in down.text  # the proxy's answer names the service that is down
        for other in TARGETS:
            if other != target:
                method, path, body = PROBES[other]
                served = await client.request(method, path, json=body, headers=HEADERS)
                assert served.status_code not in UNAVAILABLE, f"{other} while {target} is down: {served.text}"
    finally:
        await asyncio.to_thread(services.start, target)
    results = await asyncio.wait_for(poster, timeout=180)

    if target in ("intake", "decisioning"):  # the client posted to the killed service: some posts were retried
        assert any(len(answers) > 1 for answers in results), "no post met the outage"
    finals = [answers[-1] for answers in results]
    assert all(a.status_code in (200, 201, 202) for a in finals), [(a.status_code, a.text) for a in finals]
    if target in ("intake", "projections"):
        case_ids = [a.json()["case_id"] for a in finals]
        assert len(set(case_ids)) == POSTS
        expected = {"intake.incident_received": 1, "decisioning.recommendation_recorded": 1}
        for case_id in case_ids:
            await visible(client, case_id, lambda case: bool(case.get("recommendation")), "its recommendation")
    else:
        case_ids = cases
        expected = {
            "decisioning.recommendation_recorded": 1,
            "decisioning.chair_decision_recorded": 1,
            "orchestration.review_not_initiated": 1,
        }
        for case_id in case_ids:
            await visible(
                client,
                case_id,
                lambda case: any(e["event_type"] == "orchestration.review_not_initiated" for e in case["events"]),
                "orchestration's answer to the decision",
            )
        events = {a.json()["events"][0]["event_id"] for a in finals}
        assert len(events) == POSTS  # one decision per case, whatever the retries
    wanted = {(case_id, event_type): n for case_id in case_ids for event_type, n in expected.items()}
    logs = await asyncio.to_thread(logged, database_url, set(case_ids))
    assert {k: logs[k] for k in wanted} == wanted, "each service's log holds each effect exactly once"
    read_model = await projected(database_url, set(case_ids))
    assert {k: read_model[k] for k in wanted} == wanted, "the read model holds each event exactly once"
    assert all(n == 1 for n in read_model.values()), read_model
