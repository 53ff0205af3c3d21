"""The distributed runtime with a database role per service, over real Kafka and PostgreSQL: an incident
goes through intake, decisioning and the read model while each process connects with its own role."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from events import topics
from lif.auth import Role
from lif.auth.tokens import TokenStore
from lif.database_roles import ADMIN, SERVICES, role_name
from lif.db import create_pool
from lif.runtime.targets import TARGETS
from tests.databases import fetch
from tests.deployment import Deployment, deployed
from tests.harness import ProxyFactory
from tests.polling import eventually
from tests.review_journeys import Dates, Driver, initiate_scr, open_case
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
ADMIN_TOKEN = "roles-test-admin-token"
HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def deployment(
    kafka_bootstrap: str, database_url: str, reverse_proxy: ProxyFactory
) -> AsyncIterator[Deployment]:
    async with deployed(kafka_bootstrap, database_url, "roles", ADMIN_TOKEN, reverse_proxy, roles=True) as running:
        yield running


async def projected_case(deployment: Deployment, case_id: str) -> dict[str, Any]:
    assert deployment.client is not None
    client = deployment.client

    async def check() -> dict[str, Any] | None:
        response = await client.get(f"/v1/cases/{case_id}", headers=HEADERS)
        body = response.json() if response.status_code == 200 else None
        return body if body and body["recommendation"] and body["opened_at"] else None

    return await eventually(check, timeout=60, what=f"case {case_id} in the projection")


async def test_each_process_connects_with_its_own_role(deployment: Deployment) -> None:
    database = deployment.role_database
    assert database is not None
    users = {
        row["usename"]
        for row in await fetch(
            database.admin_url,
            "SELECT usename FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
    }
    # every service role that has a `lif serve` target of its own (a role whose service has none yet has
    # no process to connect with)
    assert users == {role_name(service, database.prefix) for service in SERVICES if service in TARGETS}


async def test_an_http_incident_is_recommended_and_projected(deployment: Deployment) -> None:
    assert deployment.client is not None
    response = await deployment.client.post("/v1/incidents", json=notification(), headers=HEADERS)
    assert response.status_code == 202, response.text
    case = await projected_case(deployment, response.json()["case_id"])
    assert case["recommendation"]["review_type"] == "serious_case_review"
    assert case["recommendation"]["deadlines"]["chair_decision_due"] == "2015-04-10"


async def test_a_kafka_incident_is_recommended_and_projected(deployment: Deployment) -> None:
    doc = notification(facts__outcome="harmed", facts__working_together_concern="yes")
    producer = AIOKafkaProducer(bootstrap_servers=deployment.settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(deployment.topic(topics.INCIDENTS), json.dumps(doc).encode())
    finally:
        await producer.stop()
    intake = deployment.running["intake"].parts["intake"]
    case_id = intake.case_id_for_source(doc["lscb"], doc["source"]["system"], doc["source"]["reference"])
    case = await projected_case(deployment, str(case_id))
    assert case["recommendation"]["review_type"] == "multi_agency_concise_review"
    assert case["events"][0]["payload"]["channel"] == "kafka"


async def test_a_chair_decision_opens_the_review_with_orchestrations_role(deployment: Deployment) -> None:
    """Decisioning's commands and registry, and orchestration's process, each under its own role."""
    database = deployment.role_database
    assert database is not None and deployment.client is not None
    pool = await create_pool(database.urls[ADMIN])  # tokens are written by the admin role only
    try:
        store = TokenStore(pool)

        async def tokens(role: Role, scope: str, name: str) -> str:
            value, _ = await store.create(role, scope, name)
            return str(value)

        driver = Driver(deployment.client, tokens)
        review = await open_case(driver)
        view = await initiate_scr(driver, review, "targeted", Dates().decided_on)
    finally:
        await pool.close()
    assert view["phase"] == "review" and view["review_id"]


async def test_the_web_pages_sign_in_and_read_through_the_proxy_with_their_own_role(deployment: Deployment) -> None:
    """The web service is a client of the public API behind the proxy: its sessions in its own schema, and
    what a page shows is what the API answers that person."""
    assert deployment.client is not None and deployment.proxy is not None
    database = deployment.role_database
    assert database is not None
    response = await deployment.client.post("/v1/incidents", json=notification(), headers=HEADERS)
    case_id = response.json()["case_id"]
    await projected_case(deployment, case_id)
    pool = await create_pool(database.urls[ADMIN])
    try:
        manager, _ = await TokenStore(pool).create(Role.BUSINESS_MANAGER, "BOL", "web-manager")
    finally:
        await pool.close()
    async with httpx.AsyncClient(base_url=deployment.proxy.url, timeout=30.0) as browser:
        form = await browser.get("/app/sign-in")
        assert form.status_code == 200 and "Sign in" in form.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf is not None
        signed_in = await browser.post("/app/sign-in", data={"csrf_token": csrf.group(1), "token": manager})
        assert signed_in.status_code == 303, signed_in.text
        register = await browser.get("/app/boards/BOL/cases")
        assert register.status_code == 200 and case_id in register.text
        elsewhere = await browser.get("/app/boards/WGN/cases")
        assert elsewhere.status_code == 404 and "Page not found" in elsewhere.text
        css = await browser.get("/app/static/govuk/govuk-frontend.min.css")
        assert css.status_code == 200 and "/app/static/govuk/assets/" in css.text
    sessions = await fetch(database.urls["web"], "SELECT name, role FROM lif_web.sessions")
    assert [(r["name"], r["role"]) for r in sessions] == [("web-manager", "business_manager")]
