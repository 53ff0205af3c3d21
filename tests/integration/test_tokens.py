"""Tokens against a real PostgreSQL: issue, look up, revoke, bootstrap, and the 401s of the HTTP layer."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from lif.auth import (
    REGION,
    TOKEN_PREFIX,
    Authenticator,
    AuthError,
    CurrentPrincipal,
    Principal,
    Role,
    TokenStore,
    forbid,
    not_found,
)
from lif.db import create_pool
from tests.databases import fresh_database

pytestmark = pytest.mark.integration

BOOTSTRAP = "bootstrap-secret-for-tests-0123456789"
MALFORMED = "malformed Authorization header; expected 'Bearer <token>'"


class FakeClock:
    """A monotonic clock the test moves by hand, to see the cache expire without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def module_database(database_url: str) -> str:
    return asyncio.run(fresh_database(database_url, "tokens"))


@pytest.fixture
async def pool(module_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(module_database)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def store(pool: asyncpg.Pool) -> TokenStore:
    """A `TokenStore` on the module's migrated database, emptied first, so tests never see each other's rows."""
    token_store = TokenStore(pool)
    await pool.execute(f"TRUNCATE {token_store.schema}.tokens")
    return token_store


def make_app(authenticator: Authenticator) -> FastAPI:
    app = FastAPI()
    app.state.authenticator = authenticator

    @app.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, str]:
        return {"name": principal.name, "role": principal.role.value, "scope": principal.scope}

    @app.get("/boards/{lscb}/cases")
    async def cases(lscb: str, principal: CurrentPrincipal) -> dict[str, str]:
        if not principal.sees_board(lscb):
            raise not_found("no such board")
        return {"board": lscb}

    @app.post("/boards/{lscb}/incidents")
    async def submit(lscb: str, principal: CurrentPrincipal) -> dict[str, str]:
        if not principal.may_submit_incident_for(lscb):
            raise forbid("may not submit for this board")
        return {"board": lscb}

    return app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lif.test")


# --- TokenStore ---------------------------------------------------------------------------------------


async def test_created_token_looks_up_to_its_principal(store: TokenStore) -> None:
    token, principal = await store.create(Role.BUSINESS_MANAGER, "BOL", "Bolton business manager")
    assert token.startswith(TOKEN_PREFIX)
    assert len(token) > len(TOKEN_PREFIX) + 40
    assert principal == Principal("Bolton business manager", Role.BUSINESS_MANAGER, "BOL")
    assert await store.lookup(token) == principal


async def test_tokens_are_unique(store: TokenStore) -> None:
    first, _ = await store.create("integration", "BOL", "bolton-feed")
    second, _ = await store.create("integration", "BOL", "bolton-feed")
    assert first != second
    assert await store.lookup(first) == await store.lookup(second)


async def test_only_the_hash_is_stored(store: TokenStore, pool: asyncpg.Pool) -> None:
    token, _ = await store.create(Role.ADMIN, REGION, "ops")
    query = f"SELECT token_hash, row_to_json(t)::text AS everything FROM {store.schema}.tokens t"
    rows = await pool.fetch(query)
    assert len(rows) == 1
    assert rows[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in rows[0]["everything"]
    assert token[len(TOKEN_PREFIX) :] not in rows[0]["everything"]


async def test_unknown_tokens_look_up_to_nothing(store: TokenStore) -> None:
    await store.create(Role.ADMIN, REGION, "ops")
    assert await store.lookup("lif_not-a-real-token") is None
    assert await store.lookup("") is None


@pytest.mark.parametrize(
    ("role", "scope", "message"),
    [
        ("admin", "BOL", "must have scope 'region'"),
        ("chair", REGION, "one board"),
        ("reviewer", "ZZZ", "unknown board code 'ZZZ'"),
        ("root", REGION, "unknown role"),
    ],
)
async def test_invalid_role_scope_is_refused_and_nothing_stored(
    store: TokenStore, role: str, scope: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await store.create(role, scope, "someone")
    assert await store.list() == []


@pytest.mark.parametrize("name", ["", "   ", "bootstrap", "Jo\x00Bloggs", "Jo\nBloggs", "x" * 201])
async def test_empty_reserved_and_unprintable_names_are_refused(store: TokenStore, name: str) -> None:
    with pytest.raises(ValueError):
        await store.create(Role.ADMIN, REGION, name)
    assert await store.list() == []


async def test_revoke_ends_every_token_of_that_name(store: TokenStore) -> None:
    first, _ = await store.create(Role.INTEGRATION, "BOL", "bolton-feed")
    second, _ = await store.create(Role.INTEGRATION, "BOL", "bolton-feed")
    other, other_principal = await store.create(Role.INTEGRATION, "BUR", "bury-feed")
    assert await store.revoke("bolton-feed") == 2
    assert await store.lookup(first) is None
    assert await store.lookup(second) is None
    assert await store.lookup(other) == other_principal
    assert await store.revoke("bolton-feed") == 0
    assert await store.revoke("nobody") == 0


async def test_list_shows_tokens_without_hashes(store: TokenStore) -> None:
    token, _ = await store.create(Role.AUDITOR, REGION, "regional auditor")
    await store.create(Role.CHAIR, "BUR", "Bury chair")
    await store.revoke("Bury chair")
    listed = await store.list()
    assert [(t["name"], t["role"], t["scope"]) for t in listed] == [
        ("regional auditor", "auditor", REGION),
        ("Bury chair", "chair", "BUR"),
    ]
    assert listed[0]["revoked_at"] is None
    assert listed[1]["revoked_at"] is not None
    for entry in listed:
        assert set(entry) == {"id", "name", "role", "scope", "created_at", "revoked_at"}
        assert hashlib.sha256(token.encode()).hexdigest() not in map(str, entry.values())
        uuid.UUID(entry["id"])


async def test_count_admins_counts_live_admins_only(store: TokenStore) -> None:
    assert await store.count_admins() == 0
    await store.create(Role.ADMIN, REGION, "ops-1")
    await store.create(Role.ADMIN, REGION, "ops-2")
    await store.create(Role.AUDITOR, REGION, "auditor")
    assert await store.count_admins() == 2
    await store.revoke("ops-1")
    assert await store.count_admins() == 1


def test_schema_names_must_be_plain_identifiers() -> None:
    with pytest.raises(ValueError, match="invalid schema name"):
        TokenStore(None, schema="x; DROP TABLE y")  # type: ignore[arg-type]


# --- Authenticator ------------------------------------------------------------------------------------


async def test_authenticator_accepts_a_stored_token(store: TokenStore) -> None:
    token, principal = await store.create(Role.CHAIR, "BOL", "Bolton chair")
    authenticator = Authenticator(store, None)
    assert await authenticator.authenticate(f"Bearer {token}") == principal
    assert await authenticator.authenticate(f"bearer   {token}  ") == principal


async def test_bootstrap_token_is_a_regional_admin(store: TokenStore) -> None:
    authenticator = Authenticator(store, BOOTSTRAP)
    principal = await authenticator.authenticate(f"Bearer {BOOTSTRAP}")
    assert principal == Principal("bootstrap", Role.ADMIN, REGION)
    assert principal.may_manage_tokens()
    with pytest.raises(AuthError):
        await authenticator.authenticate(f"Bearer {BOOTSTRAP}x")


@pytest.mark.parametrize("configured", [None, ""])
async def test_without_bootstrap_the_bootstrap_token_is_unknown(
    store: TokenStore, configured: str | None
) -> None:
    authenticator = Authenticator(store, configured)
    with pytest.raises(AuthError, match="unknown"):
        await authenticator.authenticate(f"Bearer {BOOTSTRAP}")


async def test_bootstrap_comes_from_the_environment(
    store: TokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIF_BOOTSTRAP_TOKEN", BOOTSTRAP)
    authenticator = Authenticator.from_env(store)
    assert (await authenticator.authenticate(f"Bearer {BOOTSTRAP}")).name == "bootstrap"
    monkeypatch.delenv("LIF_BOOTSTRAP_TOKEN")
    with pytest.raises(AuthError):
        await Authenticator.from_env(store).authenticate(f"Bearer {BOOTSTRAP}")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing"),
        ("", "missing"),
        ("   ", "missing"),
        ("Bearer", "malformed"),
        ("Basic dXNlcjpwYXNz", "malformed"),
        ("Bearer a b", "malformed"),
        ("lif_abc", "malformed"),
        ("Bearer " + "x" * 600, "malformed"),
        ("Bearer lif_unknown", "unknown or revoked"),
    ],
)
async def test_bad_headers_are_refused(store: TokenStore, header: str | None, message: str) -> None:
    authenticator = Authenticator(store, BOOTSTRAP)
    with pytest.raises(AuthError, match=message) as caught:
        await authenticator.authenticate(header)
    assert caught.value.status_code == 401


async def test_revoked_token_lives_on_for_at_most_the_cache_ttl(store: TokenStore) -> None:
    token, principal = await store.create(Role.REVIEWER, "BOL", "reviewer one")
    clock = FakeClock()
    authenticator = Authenticator(store, None, cache_ttl=5.0, clock=clock)
    assert await authenticator.authenticate(f"Bearer {token}") == principal
    await store.revoke("reviewer one")
    clock.now += 4.9
    assert await authenticator.authenticate(f"Bearer {token}") == principal  # still cached
    clock.now += 0.2
    with pytest.raises(AuthError, match="revoked"):
        await authenticator.authenticate(f"Bearer {token}")


async def test_clear_cache_makes_revocation_immediate(store: TokenStore) -> None:
    token, _ = await store.create(Role.REVIEWER, "BOL", "reviewer two")
    authenticator = Authenticator(store, None, clock=FakeClock())
    await authenticator.authenticate(f"Bearer {token}")
    await store.revoke("reviewer two")
    authenticator.clear_cache()
    with pytest.raises(AuthError):
        await authenticator.authenticate(f"Bearer {token}")


async def test_failures_are_not_cached(store: TokenStore) -> None:
    authenticator = Authenticator(store, None, clock=FakeClock())
    token, principal = await store.create(Role.AUDITOR, "BUR", "Bury auditor")
    await store.revoke("Bury auditor")
    with pytest.raises(AuthError):
        await authenticator.authenticate(f"Bearer {token}")
    # A fresh token for the same person works at once.
    fresh, _ = await store.create(Role.AUDITOR, "BUR", "Bury auditor")
    assert await authenticator.authenticate(f"Bearer {fresh}") == principal


async def test_cache_stays_bounded(store: TokenStore) -> None:
    clock = FakeClock()
    authenticator = Authenticator(store, None, cache_size=2, clock=clock)
    tokens = [(await store.create(Role.CHAIR, "BOL", f"chair {i}"))[0] for i in range(5)]
    for token in tokens:
        await authenticator.authenticate(f"Bearer {token}")
    assert len(authenticator._cache) <= 2


# --- HTTP ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "missing bearer token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, MALFORMED),
        ({"Authorization": "Bearer"}, MALFORMED),
        ({"Authorization": "Bearer lif_nope"}, "unknown or revoked token"),
    ],
)
async def test_http_401s(store: TokenStore, headers: dict[str, str], detail: str) -> None:
    async with client_for(make_app(Authenticator(store, BOOTSTRAP))) as client:
        response = await client.get("/whoami", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["www-authenticate"] == "Bearer"


async def test_http_revoked_token_is_401(store: TokenStore) -> None:
    token, _ = await store.create(Role.INTEGRATION, "BOL", "bolton-feed")
    async with client_for(make_app(Authenticator(store, None, cache_ttl=0))) as client:
        assert (await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})).status_code == 200
        await store.revoke("bolton-feed")
        response = await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json() == {"detail": "unknown or revoked token"}


async def test_http_valid_and_bootstrap_tokens(store: TokenStore) -> None:
    token, _ = await store.create(Role.INTEGRATION, "BOL", "bolton-feed")
    async with client_for(make_app(Authenticator(store, BOOTSTRAP))) as client:
        mine = await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})
        boot = await client.get("/whoami", headers={"Authorization": f"Bearer {BOOTSTRAP}"})
    assert mine.status_code == 200
    assert mine.json() == {"name": "bolton-feed", "role": "integration", "scope": "BOL"}
    assert boot.json() == {"name": "bootstrap", "role": "admin", "scope": REGION}


async def test_http_scope_answers_404_and_403(store: TokenStore) -> None:
    token, _ = await store.create(Role.INTEGRATION, "BOL", "bolton-feed")
    auth = {"Authorization": f"Bearer {token}"}
    async with client_for(make_app(Authenticator(store, None))) as client:
        assert (await client.get("/boards/BOL/cases", headers=auth)).status_code == 200
        other = await client.get("/boards/BUR/cases", headers=auth)
        assert (await client.post("/boards/BOL/incidents", headers=auth)).status_code == 200
        refused = await client.post("/boards/BUR/incidents", headers=auth)
    assert other.status_code == 404
    assert other.json() == {"detail": "no such board"}
    assert refused.status_code == 403
    assert refused.json() == {"detail": "may not submit for this board"}


async def test_http_without_an_authenticator_fails_closed() -> None:
    app = FastAPI()

    @app.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> str:
        return principal.name

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://lif.test") as client:
        response = await client.get("/whoami", headers={"Authorization": f"Bearer {BOOTSTRAP}"})
    assert response.status_code == 500
