"""Bad input at the HTTP edge gets a clear 4xx naming the field and changes nothing; races keep the
accepted text. The whole HTTP app of the embedded runtime over real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
import pytest_asyncio

from lif.auth import Role
from lif.db import create_pool
from lif.http_routes import REQUEST_BODY_LIMIT_BYTES as MAX_REQUEST_BYTES
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from tests.databases import fresh_database
from tests.polling import eventually
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
ADMIN = "edge-test-admin-token"
KEY = b"edge-test-pseudonym-key-0123456789"


@dataclass
class Edge:
    client: httpx.AsyncClient
    system: EmbeddedSystem
    db: asyncpg.Pool
    tokens: dict[str, str]

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def post(self, path: str, body: Any, who: str = "admin", **headers: str) -> httpx.Response:
        return await self.client.post(path, json=body, headers=self.as_(who) | headers)

    async def raw(self, path: str, content: Any, who: str = "admin") -> httpx.Response:
        headers = self.as_(who) | {"Content-Type": "application/json"}
        return await self.client.post(path, content=content, headers=headers)

    async def get(self, path: str, who: str = "admin") -> httpx.Response:
        return await self.client.get(path, headers=self.as_(who))

    async def stored_events(self) -> int:
        """The position of intake's log: unchanged when nothing was recorded."""
        return int(self.system.intake.recorder.max_notification_id() or 0)  # type: ignore[attr-defined]

    async def new_case(self) -> str:
        response = await self.post("/v1/incidents", notification())
        assert response.status_code == 202, response.text
        case_id: str = response.json()["case_id"]

        async def recommended() -> bool:
            return (await self.get(f"/v1/cases/{case_id}")).json().get("recommendation") is not None

        await eventually(recommended, what=f"recommendation of {case_id}")
        return case_id


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def edge(database_url: str) -> AsyncIterator[Edge]:
    url = await fresh_database(database_url, "edge")
    system = await build_embedded(url, KEY, ADMIN)
    await system.start()
    tokens = {"admin": ADMIN}
    for who, role in (("manager", Role.BUSINESS_MANAGER), ("chair", Role.CHAIR)):
        tokens[who], _ = await system.authenticator.store.create(role, "BOL", who)
    db = await create_pool(url)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=system.app), base_url="http://lif") as client:
        yield Edge(client, system, db, tokens)
    await db.close()
    await system.stop()


def fields(response: httpx.Response, status: int = 422) -> list[str]:
    assert response.status_code == status, response.text
    return [error["field"] for error in response.json()["detail"]]


async def test_nul_and_control_characters_are_refused_naming_the_field(edge: Edge) -> None:
    before = await edge.stored_events()
    for doc, field in [
        (notification(summary="head injury\x00"), "summary"),
        (notification(child__subject_ref="subj\x00"), "child.subject_ref"),
        (notification(source={"system": "cms", "reference": "R\x00"}), "source.reference"),
        (notification(source={"system": "cms\x1b[2J", "reference": "R-1"}), "source.system"),
    ]:
        assert fields(await edge.post("/v1/incidents", doc)) == [field]
    reviewer = {"name": "Sam\x00", "employer": {"organisation": "Reviews\x00 Ltd"}}
    assert fields(await edge.post("/v1/reviewers", reviewer, "manager")) == ["name", "employer.organisation"]
    assert await edge.stored_events() == before
    assert (await edge.get("/v1/reviewers")).json()["total"] == 0


async def test_a_path_parameter_with_nul_is_a_422_naming_it(edge: Edge) -> None:
    assert fields(await edge.get("/v1/reviewers/%00")) == ["reviewer_id"]
    assert fields(await edge.get("/v1/reviewers/rev-%00")) == ["reviewer_id"]
    review = uuid4()
    response = await edge.client.delete(f"/v1/reviews/{review}/members/review_group/a%00b", headers=edge.as_("admin"))
    assert fields(response) == ["member_id"]
    response = await edge.post(f"/v1/reviews/{review}/stages/%00/held", {"held_on": "2015-03-02"})
    assert fields(response) == ["stage_id"]
    assert (await edge.get("/v1/lscbs/%00/cases")).status_code == 404


@pytest.mark.parametrize("path", ["/v1/lscbs/BOL/cases", "/v1/lscbs/BOL/reviews", "/v1/reviewers"])
async def test_paging_parameters_are_bounded(edge: Edge, path: str) -> None:
    assert fields(await edge.get(f"{path}?offset=99999999999999999999")) == ["offset"]
    assert fields(await edge.get(f"{path}?limit=100000")) == ["limit"]
    assert (await edge.get(f"{path}?offset=10000000&limit=1000")).status_code == 200


async def test_dates_have_a_window_and_one_format(edge: Edge) -> None:
    before = await edge.stored_events()
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    for doc, field in [
        (notification(incident_date="9999-12-30", notified_date="9999-12-31"), "incident_date"),
        (notification(incident_date="2015-03-02T00:00:00"), "incident_date"),
        (notification(incident_date="1899-12-31"), "incident_date"),
        (notification(notified_date=tomorrow), "notified_date"),
    ]:
        assert field in fields(await edge.post("/v1/incidents", doc)), doc
    assert await edge.stored_events() == before
    historical = notification(incident_date="1962-01-15", notified_date="2015-03-10", facts__historical=True)
    assert (await edge.post("/v1/incidents", historical)).status_code == 202


async def test_integers_and_booleans_are_strict(edge: Edge) -> None:
    for value in (True, "4", 4.5):
        assert fields(await edge.post("/v1/incidents", notification(child__age_years=value))) == ["child.age_years"]
    assert fields(await edge.post("/v1/incidents", notification(facts__historical="false"))) == ["facts.historical"]


async def test_json_with_duplicate_keys_is_refused(edge: Edge) -> None:
    before = await edge.stored_events()
    doc = json.dumps(notification(lscb="MAN"))
    duplicated = doc.replace('"lscb": "MAN"', '"lscb": "MAN", "lscb": "BOL"')
    assert fields(await edge.raw("/v1/incidents", duplicated)) == ["lscb"]
    nested = doc.replace('"age_years": 4', '"age_years": 4, "age_years": 5')
    assert fields(await edge.raw("/v1/incidents", nested)) == ["child.age_years"]
    reviewer = '{"name": "A", "name": "B", "employer": {"organisation": "X"}}'
    assert fields(await edge.raw("/v1/reviewers", reviewer)) == ["name"]
    assert await edge.stored_events() == before


async def test_a_body_over_the_cap_is_413_with_or_without_content_length(edge: Edge) -> None:
    big = json.dumps(notification(summary="x" * (MAX_REQUEST_BYTES + 10))).encode()
    response = await edge.raw("/v1/incidents", big)
    assert response.status_code == 413 and str(MAX_REQUEST_BYTES) in response.text

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    response = await edge.raw("/v1/incidents", chunked())
    assert response.status_code == 413
    assert "content-length" not in response.request.headers


async def test_list_lengths_are_bounded_and_the_registry_is_paginated(edge: Edge) -> None:
    many = [{"organisation": f"Org {i}"} for i in range(101)]
    body = {"name": "Many", "employer": {"organisation": "X"}, "affiliations": many}
    refused = await edge.post("/v1/reviewers", body)
    assert fields(refused) == ["affiliations"]
    ids = []
    for i in range(3):
        response = await edge.post("/v1/reviewers", {"name": f"R{i}", "employer": {"organisation": "X"}}, "manager")
        assert response.status_code == 201, response.text
        ids.append(response.json()["reviewer_id"])
    page = (await edge.get("/v1/reviewers?limit=2&offset=1")).json()
    assert [r["reviewer_id"] for r in page["reviewers"]] == ids[1:3]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)


async def test_an_idempotency_key_reused_with_another_body_is_refused(edge: Edge) -> None:
    case_id = await edge.new_case()
    path = f"/v1/cases/{case_id}/decisions"
    first = {"decision": "no_review", "rationale": "The family moved abroad; agencies agree."}
    recorded = await edge.post(path, first, "chair", **{"Idempotency-Key": "k-1"})
    assert recorded.status_code == 201, recorded.text
    repeat = await edge.post(path, first, "chair", **{"Idempotency-Key": "k-1"})
    # The same event again; `open_stages` is the review's state now (orchestration may have moved on).
    assert repeat.status_code == 200 and repeat.json()["events"] == recorded.json()["events"]
    other = await edge.post(path, first | {"rationale": "Something else."}, "chair", **{"Idempotency-Key": "k-1"})
    assert fields(other) == ["Idempotency-Key"]
    case = edge.system.decisioning.get_case(case_id)  # type: ignore[arg-type]
    assert case is not None and len(case.of_type("decisioning.chair_decision_recorded")) == 1
    texts = await edge.db.fetch(
        "SELECT body FROM lif_decisioning_personal.details WHERE case_id = $1 AND kind = 'decision_rationale'",
        case.case_id,
    )
    assert [row["body"] for row in texts] == [first["rationale"]]


async def test_racing_submissions_store_the_accepted_summary(edge: Edge) -> None:
    for attempt in range(20):
        first = notification(summary=f"first summary {attempt}")
        second = json.loads(json.dumps(first)) | {"summary": f"second summary {attempt}"}
        answers = await asyncio.gather(edge.post("/v1/incidents", first), edge.post("/v1/incidents", second))
        assert sorted(a.status_code for a in answers) == [202, 409], [a.text for a in answers]
        accepted = (first, second)[[a.status_code for a in answers].index(202)]
        case_id = answers[0].json()["case_id"]
        rows = await edge.db.fetch(
            "SELECT body FROM lif_intake_personal.details WHERE case_id = $1", UUID(case_id)
        )
        assert [row["body"] for row in rows] == [accepted["summary"]], attempt


async def test_racing_keyed_decisions_store_the_accepted_rationale(edge: Edge) -> None:
    case_id = await edge.new_case()
    path = f"/v1/cases/{case_id}/decisions"
    for attempt in range(8):
        key = {"Idempotency-Key": f"race-{attempt}"}
        bodies = [{"decision": "no_review", "rationale": f"rationale {side} {attempt}"} for side in ("a", "b")]
        answers = await asyncio.gather(*(edge.post(path, body, "chair", **key) for body in bodies))
        statuses = [a.status_code for a in answers]
        assert sorted(statuses) == [201, 422], [a.text for a in answers]
        winner = bodies[statuses.index(201)]
        document = answers[statuses.index(201)].json()["events"][0]["payload"]["rationale"]["document_id"]
        stored = await edge.db.fetch(
            "SELECT id::text, body FROM lif_decisioning_personal.details WHERE body = ANY($1::text[])",
            [b["rationale"] for b in bodies],
        )
        assert [(row["id"], row["body"]) for row in stored] == [(document, winner["rationale"])], attempt
