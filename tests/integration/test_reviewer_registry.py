"""The lead reviewer registry against a real PostgreSQL, the independence check, and `/v1/reviewers`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from lif.auth import Authenticator, Role, TokenStore
from lif.composition import REGISTRY_SCHEMA
from lif.db import create_pool
from lif.idempotency import Idempotency, KeyReused, scoped_key
from lif.migrations import ALL, migrate
from lif.validation import field_errors
from services.decisioning.reviewers import (
    Affiliation,
    NewReviewer,
    Reviewer,
    ReviewerRegistry,
    independence_conflicts,
)
from services.decisioning.reviewers_api import build_router
from tests.databases import fresh_database

pytestmark = [pytest.mark.integration]
ADMIN = "reviewer-registry-test-admin-token"


@pytest.fixture(scope="module")
def module_database(database_url: str) -> str:
    return asyncio.run(fresh_database(database_url, "reviewers"))


@pytest.fixture
def registry(module_database: str) -> Iterator[ReviewerRegistry]:
    """The module database's registry, emptied first, so tests never see each other's reviewers."""
    registry = ReviewerRegistry(module_database, REGISTRY_SCHEMA)
    with registry.pool.connection() as conn:
        conn.execute(f"TRUNCATE {registry.table}")
    yield registry
    registry.close()


def reviewer(**changes: object) -> NewReviewer:
    values: dict[str, object] = {
        "name": "Alex Reviewer",
        "employer": {"lscb": None, "organisation": "Independent Reviews Ltd", "agency": None},
        "affiliations": [{"lscb": "MAN", "organisation": "Manchester City Council", "agency": "local_authority"}],
    }
    return NewReviewer.model_validate(values | changes)


def test_add_get_and_list(registry: ReviewerRegistry) -> None:
    first, _ = registry.add(reviewer())
    second, _ = registry.add(reviewer(name="Sam Second", affiliations=[]))

    assert first.reviewer_id != second.reviewer_id
    assert first.reviewer_id.startswith("rev-") and len(first.reviewer_id) == 14
    assert second.created_at >= first.created_at
    assert first.name == "Alex Reviewer"
    assert first.affiliations == [
        Affiliation(lscb="MAN", organisation="Manchester City Council", agency="local_authority")
    ]
    assert registry.get(first.reviewer_id) == first
    assert registry.get("rev-0000000000") is None
    assert registry.list() == [first, second]


def test_a_registration_repeated_with_its_key_is_one_reviewer(registry: ReviewerRegistry) -> None:
    key = Idempotency(scoped_key("BOL", "form-1"), "request-1")
    first, created = registry.add(reviewer(name="Kim Keyed"), key=key)
    again, created_again = registry.add(reviewer(name="Kim Keyed"), key=key)
    assert (created, created_again) == (True, False)
    assert again == first
    with pytest.raises(KeyReused):
        registry.add(reviewer(name="Kim Other"), key=Idempotency(key.key, "request-2"))
    theirs, created_theirs = registry.add(
        reviewer(name="Kim Keyed"), key=Idempotency(scoped_key("WGN", "form-1"), "request-1")
    )
    assert created_theirs and theirs.reviewer_id != first.reviewer_id
    assert [r.name for r in registry.list()].count("Kim Keyed") == 2
    assert "Kim Other" not in [r.name for r in registry.list()]


def test_migrating_again_keeps_the_reviewers(registry: ReviewerRegistry, module_database: str) -> None:
    added, _ = registry.add(reviewer())
    assert asyncio.run(migrate(module_database, ALL)) == []
    assert registry.list() == [added]


def test_schema_names_must_be_plain_identifiers(module_database: str) -> None:
    with pytest.raises(ValueError, match="invalid schema name"):
        ReviewerRegistry(module_database, 'x"; DROP TABLE y; --')


def registered(**changes: object) -> Reviewer:
    return Reviewer.model_validate(
        reviewer(**changes).model_dump() | {"reviewer_id": "rev-0123456789", "created_at": datetime.now(UTC)}
    )


def test_an_employer_of_the_board_is_a_conflict() -> None:
    bolton_employee = registered(
        employer={"lscb": "BOL", "organisation": "Bolton Council", "agency": "local_authority"}, affiliations=[]
    )
    assert independence_conflicts(bolton_employee, "BOL") == [
        "Employed by Bolton Council, an agency of the Bolton LSCB (BOL)."
    ]


def test_an_affiliation_with_an_agency_of_the_board_is_a_conflict() -> None:
    affiliated = registered(
        affiliations=[
            {"lscb": "BOL", "organisation": "Greater Manchester Police", "agency": "police"},
            {"lscb": "MAN", "organisation": "Manchester City Council", "agency": "local_authority"},
            {"lscb": "BOL", "organisation": "Bolton NHS Foundation Trust", "agency": "health"},
        ]
    )
    assert independence_conflicts(affiliated, "BOL") == [
        "Affiliated with Greater Manchester Police, an agency of the Bolton LSCB (BOL).",
        "Affiliated with Bolton NHS Foundation Trust, an agency of the Bolton LSCB (BOL).",
    ]


def test_ties_to_another_board_are_no_conflict() -> None:
    assert independence_conflicts(registered(), "BOL") == []
    assert len(independence_conflicts(registered(), "MAN")) == 1


def test_a_reviewer_without_ties_to_any_board_is_independent() -> None:
    assert independence_conflicts(registered(affiliations=[]), "MAN") == []


# --- HTTP ------------------------------------------------------------------------------------------------


@pytest.fixture
async def access(module_database: str) -> AsyncIterator[TokenStore]:
    pool: asyncpg.Pool = await create_pool(module_database)
    store = TokenStore(pool)
    await pool.execute(f"TRUNCATE {store.schema}.tokens")
    yield store
    await pool.close()


@pytest.fixture
async def client(registry: ReviewerRegistry, access: TokenStore) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.state.authenticator = Authenticator(access, ADMIN)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # The same handler as lif.composition.build_http_app.
        return JSONResponse(status_code=422, content={"detail": field_errors(list(exc.errors()))})

    app.include_router(build_router(registry))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lif") as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def token(store: TokenStore, role: Role, scope: str) -> str:
    value, _ = await store.create(role, scope, f"{role.value}-{scope}")
    return value


BODY = reviewer().model_dump(mode="json")


async def test_admin_and_business_managers_register_reviewers_others_may_not(
    client: httpx.AsyncClient, access: TokenStore
) -> None:
    created = await client.post("/v1/reviewers", json=BODY, headers=auth(ADMIN))
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Alex Reviewer"
    assert created.json()["reviewer_id"].startswith("rev-")

    manager = await token(access, Role.BUSINESS_MANAGER, "WGN")
    by_manager = await client.post("/v1/reviewers", json=BODY | {"name": "Sam Second"}, headers=auth(manager))
    assert by_manager.status_code == 201, by_manager.text

    for role, scope in [(Role.CHAIR, "BOL"), (Role.AUDITOR, "region"), (Role.REGIONAL_ANALYST, "region")]:
        refused = await client.post("/v1/reviewers", json=BODY, headers=auth(await token(access, role, scope)))
        assert refused.status_code == 403, (role, refused.text)

    listed = await client.get("/v1/reviewers", headers=auth(ADMIN))
    assert [r["name"] for r in listed.json()["reviewers"]] == ["Alex Reviewer", "Sam Second"]


async def test_board_staff_auditors_and_admins_read_reviewers_analysts_and_integrations_may_not(
    client: httpx.AsyncClient, access: TokenStore, registry: ReviewerRegistry
) -> None:
    added, _ = registry.add(reviewer())
    readers = [ADMIN] + [
        await token(access, role, scope)
        for role, scope in [(Role.CHAIR, "BOL"), (Role.REVIEWER, "MAN"), (Role.AUDITOR, "region")]
    ]
    for reader in readers:
        listed = await client.get("/v1/reviewers", headers=auth(reader))
        assert listed.status_code == 200, listed.text
        assert listed.json() == {"reviewers": [added.model_dump(mode="json")], "total": 1, "limit": 100, "offset": 0}
        one = await client.get(f"/v1/reviewers/{added.reviewer_id}", headers=auth(reader))
        assert one.status_code == 200
        assert Reviewer.model_validate(one.json()) == added

    for outsider in [
        await token(access, Role.REGIONAL_ANALYST, "region"),
        await token(access, Role.INTEGRATION, "BOL"),
    ]:
        assert (await client.get("/v1/reviewers", headers=auth(outsider))).status_code == 403
        assert (await client.get(f"/v1/reviewers/{added.reviewer_id}", headers=auth(outsider))).status_code == 403
    assert (await client.get("/v1/reviewers")).status_code == 401


async def test_an_unknown_reviewer_answers_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/reviewers/rev-ffffffffff", headers=auth(ADMIN))
    assert response.status_code == 404
    assert response.json() == {"detail": "reviewer rev-ffffffffff not found"}


async def test_an_invalid_reviewer_answers_422_with_one_message_per_bad_field(
    client: httpx.AsyncClient, registry: ReviewerRegistry
) -> None:
    body = {
        "name": " ",
        "employer": {"lscb": "XYZ", "organisation": "Somewhere", "agency": "army"},
        "affiliations": [{"lscb": "bol", "organisation": "Bolton Council"}],
        "nickname": "Al",
    }
    response = await client.post("/v1/reviewers", json=body, headers=auth(ADMIN))
    assert response.status_code == 422, response.text
    fields = {error["field"]: error["message"] for error in response.json()["detail"]}
    assert set(fields) == {"name", "employer.lscb", "employer.agency", "affiliations.0.lscb", "nickname"}
    assert "unknown board 'XYZ'" in fields["employer.lscb"]
    assert fields["nickname"] == "unknown field"
    assert registry.list() == []


async def test_openapi_documents_the_reviewer_paths(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    post = document["paths"]["/v1/reviewers"]["post"]
    assert post["tags"] == ["reviewers"]
    assert post["summary"] == "Register a lead reviewer"
    assert post["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Reviewer"
    }
    assert set(document["paths"]["/v1/reviewers/{reviewer_id}"]["get"]["responses"]) >= {"200", "403", "404"}
    assert "NewReviewer" in document["components"]["schemas"]
