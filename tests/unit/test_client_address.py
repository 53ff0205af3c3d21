"""The caller's address behind the reverse proxy: forwarding headers believed from a trusted proxy only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from lif.client_address import ClientAddress, TrustedProxies, client_address

TRUSTED = TrustedProxies.parse("127.0.0.1, 172.28.0.0/16")


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        ("198.51.100.7", {"x-real-ip": "203.0.113.9", "x-forwarded-for": "203.0.113.9"}, "198.51.100.7"),
        ("127.0.0.1", {"x-real-ip": "203.0.113.9"}, "203.0.113.9"),
        ("127.0.0.1", {"x-forwarded-for": "203.0.113.9"}, "203.0.113.9"),
        # read from the right: the client's own claim (left) is not believed past an untrusted hop
        ("127.0.0.1", {"x-forwarded-for": "10.9.9.9, 203.0.113.9, 172.28.0.10"}, "203.0.113.9"),
        ("172.28.1.4", {"x-forwarded-for": "172.28.0.10"}, "172.28.0.10"),  # every hop trusted: the first
        ("127.0.0.1", {"x-forwarded-for": "not-an-address, 203.0.113.9"}, "203.0.113.9"),
        ("127.0.0.1", {"x-forwarded-for": "203.0.113.9, garbage"}, "127.0.0.1"),
        ("127.0.0.1", {"x-real-ip": "garbage"}, "127.0.0.1"),
        ("127.0.0.1", {}, "127.0.0.1"),
    ],
)
def test_the_address_is_the_peers_unless_a_trusted_proxy_names_another(
    peer: str, headers: dict[str, str], expected: str
) -> None:
    assert client_address(peer, headers, TRUSTED) == expected


def test_the_setting_takes_addresses_networks_or_everyone() -> None:
    assert "::1" in TrustedProxies.parse("::1") and "127.0.0.2" not in TrustedProxies.parse("127.0.0.1")
    assert "198.51.100.7" in TrustedProxies.parse("*")
    assert "anything" not in TRUSTED
    with pytest.raises(ValueError):
        TrustedProxies.parse("proxy.example")


async def _seen(request: Request) -> JSONResponse:
    return JSONResponse({"client": request.client.host if request.client else None, "scheme": request.url.scheme})


async def ask(peer: str, headers: dict[str, str]) -> Any:
    app = ClientAddress(Starlette(routes=[Route("/", _seen)]), TRUSTED)
    transport = httpx.ASGITransport(app=app, client=(peer, 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://lif") as client:
        return (await client.get("/", headers=headers)).json()


async def test_the_middleware_rewrites_client_and_scheme_for_a_trusted_proxy_only() -> None:
    forwarded = {"X-Real-IP": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert await ask("127.0.0.1", forwarded) == {"client": "203.0.113.9", "scheme": "https"}
    assert await ask("198.51.100.7", forwarded) == {"client": "198.51.100.7", "scheme": "http"}


async def test_the_web_service_names_the_browser_to_the_api_behind_the_proxy() -> None:
    from services.web.api_client import BROWSER_ADDRESS, ApiClient

    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    api = ApiClient.remote("http://proxy:8000", transport=httpx.MockTransport(answer))
    BROWSER_ADDRESS.set("203.0.113.9")
    await api.get("lif_token", "/v1/whoami")
    await api.close()
    assert seen[0].headers["x-real-ip"] == "203.0.113.9"
