"""The OpenAPI document says what the API does: generated requests to every operation, answered by the real
app over real PostgreSQL, never get a 500, and every answer's status, content type, headers and body are the
ones the document declares for that operation (schemathesis's checks).

Bounded: a few positive and negative examples per operation, drawn up front, so it stays well under a minute.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lif.auth import Role
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from tests.databases import fresh_database

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ADMIN = "conformance-test-admin-token"
KEY = b"conformance-test-pseudonym-key-0123456"
EXAMPLES = 3
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
async def system(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[EmbeddedSystem]:
    monkeypatch.setenv("LIF_RATE_LIMIT_AUTH_FAILURES", "0")
    url = await fresh_database(database_url, "conformance")
    running = await build_embedded(url, KEY, ADMIN, today=lambda: date(2015, 3, 20))
    await running.start()
    yield running
    await running.stop()


def examples(strategy: SearchStrategy[Case], count: int) -> list[Case]:
    """Up to `count` examples in one run of hypothesis's engine (`strategy.example()` runs it anew for each one,
    drawing about a hundred to hand back one); none when nothing can be made (an operation without input
    has no invalid request)."""
    drawn: list[Case] = []

    @hypothesis.given(strategy)
    @hypothesis.settings(
        max_examples=count,
        database=None,
        phases=[hypothesis.Phase.generate],
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def collect(case: Case) -> None:
        drawn.append(case)

    try:
        collect()
    except Unsatisfiable:
        return []
    return drawn[:count]


async def test_generated_requests_get_the_answers_the_document_declares(system: EmbeddedSystem) -> None:
    manager, _ = await system.authenticator.store.create(Role.BUSINESS_MANAGER, "BOL", "conformance-bm")
    schema = schemathesis.openapi.from_dict(system.app.openapi())
    failures: list[str] = []
    calls = 0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=system.app), base_url="http://lif") as client:
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                for case in examples(operation.as_strategy(generation_mode=mode), EXAMPLES):
                    for token in (manager, ADMIN):  # the board's manager gets past most role checks
                        kwargs = case.as_transport_kwargs(base_url="http://lif")
                        headers = {**(kwargs.pop("headers", None) or {}), "Authorization": f"Bearer {token}"}
                        kwargs.pop("cookies", None)
                        if "data" in kwargs:  # raw bytes, as httpx names them
                            kwargs["content"] = kwargs.pop("data")
                        response = await client.request(headers=headers, **kwargs)
                        calls += 1
                        try:
                            case.validate_response(response, checks=CHECKS)
                        except FailureGroup as error:
                            failures.append(f"{operation.label} -> {response.status_code}: {error}"[:2000])
    assert calls > 200
    assert not failures, f"{len(failures)} failures; the first ones:\n\n" + "\n\n".join(failures[:8])
