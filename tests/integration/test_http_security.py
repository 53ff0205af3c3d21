"""Security headers on every answer, the API docs served without a CDN, and the rate limits, on the real app."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from lif.auth import Role
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from tests.databases import fresh_database

pytestmark = [pytest.mark.integration]
ADMIN = "http-security-test-admin-token"
KEY = b"http-security-test-pseudonym-key-0123"


@pytest.fixture
async def system(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[EmbeddedSystem]:
    monkeypatch.setenv("LIF_RATE_LIMIT_AUTH_FAILURES", "3")
    monkeypatch.setenv("LIF_RATE_LIMIT_PER_TOKEN", "5")
    url = await fresh_database(database_url, "http_security")
    running = await build_embedded(url, KEY, ADMIN, today=lambda: date(2015, 3, 20))
    yield running
    await running.stop()


def client(system: EmbeddedSystem, address: str = "10.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=system.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://lif")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


async def test_every_answer_carries_the_security_headers(system: EmbeddedSystem) -> None:
    async with client(system) as http:
        for response in (
            await http.get("/healthz"),
            await http.get("/v1/cases/00000000-0000-0000-0000-000000000000"),  # 401
            await http.get("/no/such/path"),
        ):
            assert response.headers["x-content-type-options"] == "nosniff", response.url
            assert response.headers["referrer-policy"] == "no-referrer"
            assert response.headers["cache-control"] == "no-store"
            assert response.headers["content-security-policy"].startswith("default-src 'none'")
            assert "server" not in response.headers


async def test_the_docs_load_only_what_lif_serves(system: EmbeddedSystem) -> None:
    async with client(system) as http:
        assert (await http.get("/openapi.json")).status_code == 200  # no token: it describes, it holds no data
        for page, script in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
            response = await http.get(page)
            assert response.status_code == 200
            assert not re.search(r"(src|href)=\"https?://", response.text), response.text  # no CDN, no fonts
            assert f'src="/docs-assets/{script}"' in response.text
            policy = response.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "'unsafe-eval'" not in policy
            assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
            for inline in re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL):
                assert _hash(inline) in policy  # the page's own init script, by hash
            asset = await http.get(f"/docs-assets/{script}")
            assert asset.status_code == 200 and len(asset.content) > 100_000
            assert "javascript" in asset.headers["content-type"]
        assert (await http.get("/docs-assets/swagger-ui.css")).status_code == 200


async def test_failed_authentication_is_rate_limited_per_address(system: EmbeddedSystem) -> None:
    async with client(system, "10.0.0.2") as guesser, client(system, "10.0.0.3") as other:
        for _ in range(3):
            guess = await guesser.get("/v1/region/summary", headers={"Authorization": "Bearer lif_guess"})
            assert guess.status_code == 401
        refused = await guesser.get("/v1/region/summary", headers={"Authorization": f"Bearer {ADMIN}"})
        assert refused.status_code == 429  # refused before the token is even looked at
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json() == {"detail": "too many failed authentications from this address"}
        assert (await other.get("/v1/region/summary", headers={"Authorization": f"Bearer {ADMIN}"})).status_code == 200


async def test_each_token_is_rate_limited(system: EmbeddedSystem) -> None:
    token, _ = await system.authenticator.store.create(Role.AUDITOR, "region", "busy-auditor")
    async with client(system, "10.0.0.4") as http:
        statuses = [
            (await http.get("/v1/region/summary", headers={"Authorization": f"Bearer {token}"})).status_code
            for _ in range(6)
        ]
        assert statuses == [200] * 5 + [429]
        assert (await http.get("/v1/region/summary", headers={"Authorization": f"Bearer {ADMIN}"})).status_code == 200
