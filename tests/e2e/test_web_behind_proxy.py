"""The web pages' sign-in behind the reverse proxy (the distributed runtime, real nginx): the rate limit of
failed sign-ins counts each browser by its own address, which the proxy passes on, and a browser that
forges X-Forwarded-For or X-Real-IP from an untrusted address is counted by its own.

Each browser connects from an address of its own in the loopback range (127.0.0.2, .3, .4); the proxy and
the services are on 127.0.0.1, the trusted proxy (FORWARDED_ALLOW_IPS' default)."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from lif.auth import Role
from lif.auth.tokens import TokenStore
from lif.db import create_pool
from tests.deployment import Deployment, deployed
from tests.harness import ProxyFactory

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
ADMIN_TOKEN = "proxy-sign-in-admin-token"
FAILURES_PER_MINUTE = 3


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def deployment(kafka_bootstrap: str, database_url: str, reverse_proxy: ProxyFactory) -> AsyncIterator[Deployment]:
    before = os.environ.get("LIF_RATE_LIMIT_AUTH_FAILURES")
    os.environ["LIF_RATE_LIMIT_AUTH_FAILURES"] = str(FAILURES_PER_MINUTE)  # read as each app is built
    try:
        async with deployed(kafka_bootstrap, database_url, "proxy_sign_in", ADMIN_TOKEN, reverse_proxy) as running:
            yield running
    finally:
        if before is None:
            os.environ.pop("LIF_RATE_LIMIT_AUTH_FAILURES", None)
        else:
            os.environ["LIF_RATE_LIMIT_AUTH_FAILURES"] = before


def browser(base: str, address: str, **headers: str) -> httpx.AsyncClient:
    """A browser of its own (its own cookies) connecting from `address`."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=base, transport=transport, headers=headers, timeout=30.0)


async def sign_in(client: httpx.AsyncClient, token: str) -> httpx.Response:
    form = await client.get("/app/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert form.status_code == 200 and csrf is not None, form.text
    return await client.post("/app/sign-in", data={"csrf_token": csrf.group(1), "token": token})


async def test_two_browsers_behind_the_proxy_are_limited_separately_and_a_forged_address_is_ignored(
    deployment: Deployment,
) -> None:
    assert deployment.proxy is not None
    proxy = deployment.proxy.url
    pool = await create_pool(deployment.settings.database_url)
    try:
        manager, _ = await TokenStore(pool).create(Role.BUSINESS_MANAGER, "BOL", "proxy-manager")
    finally:
        await pool.close()
    async with (
        browser(proxy, "127.0.0.2") as first,
        browser(proxy, "127.0.0.3") as second,
        browser(proxy, "127.0.0.4", **{"X-Forwarded-For": "127.0.0.2", "X-Real-IP": "127.0.0.2"}) as forger,
        browser(deployment.service_url("web"), "127.0.0.4", **{"X-Real-IP": "127.0.0.2"}) as direct,
    ):
        for _ in range(FAILURES_PER_MINUTE):
            assert (await sign_in(first, "lif_wrong")).status_code == 422
        limited = await sign_in(first, manager)
        assert limited.status_code == 429 and "Too many failed sign-ins" in limited.text
        assert int(limited.headers["retry-after"]) > 0

        # Another browser behind the same proxy has a limit of its own.
        assert (await sign_in(second, "lif_wrong")).status_code == 422
        assert (await sign_in(second, manager)).status_code == 303
        # Claiming the limited browser's address, through the proxy or to the web service itself, from an
        # address that is no trusted proxy: counted as what it is, not refused as the first browser.
        assert (await sign_in(forger, "lif_wrong")).status_code == 422
        assert (await sign_in(direct, "lif_wrong")).status_code == 422
        assert (await sign_in(forger, manager)).status_code == 303
        assert (await sign_in(first, manager)).status_code == 429
