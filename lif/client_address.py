"""Who is really calling behind the reverse proxy: the one place LIF reads `X-Real-IP`, `X-Forwarded-For` and
`X-Forwarded-Proto`, and only on a request whose peer is a trusted proxy (`FORWARDED_ALLOW_IPS`: addresses
and networks, comma-separated; default `127.0.0.1`; `*` trusts every peer). From any other peer the
headers are ignored, so a client cannot choose the address its rate limits count (lif.http_security).

The proxy (deploy/proxy/nginx.conf) sets both address headers to the address it was called from, replacing
whatever the client sent; the web service, calling the API through the proxy on a browser's behalf, names the
browser in `X-Real-IP`, which the proxy believes from the web service alone. Every service's app applies
`ClientAddress` (lif.composition), and uvicorn's own proxy-header handling is off, so nothing else
rewrites the address.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

TRUSTED_PROXIES_ENV = "FORWARDED_ALLOW_IPS"
DEFAULT_TRUSTED_PROXIES = "127.0.0.1"
SCHEMES = frozenset({"http", "https"})

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


class TrustedProxies:
    """The peers whose forwarding headers are believed."""

    def __init__(self, networks: Iterable[str]) -> None:
        entries = [entry.strip() for entry in networks if entry.strip()]
        self.everyone = "*" in entries
        self.networks: list[Network] = [ipaddress.ip_network(e, strict=False) for e in entries if e != "*"]

    @classmethod
    def parse(cls, text: str) -> TrustedProxies:
        """`127.0.0.1, 172.28.0.0/16`: addresses and networks, comma-separated (a bad one is an error)."""
        return cls(text.split(","))

    @classmethod
    def from_env(cls) -> TrustedProxies:
        return cls.parse(os.environ.get(TRUSTED_PROXIES_ENV, DEFAULT_TRUSTED_PROXIES))

    def __contains__(self, host: str) -> bool:
        if self.everyone:
            return True
        address = _ip(host)
        return address is not None and any(address in network for network in self.networks)


def client_address(peer: str, headers: dict[str, str], trusted: TrustedProxies) -> str:
    """The caller's address: the peer's own, unless the peer is a trusted proxy that names another.

    `X-Real-IP` first (the proxy's single address); else the nearest entry of `X-Forwarded-For` that is not
    itself a trusted proxy, read from the right (the entries to its left are the client's own claims)."""
    if peer not in trusted:
        return peer
    real = headers.get("x-real-ip", "").strip()
    if real and _ip(real) is not None:
        return real
    hops = [hop.strip() for hop in headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if _ip(hop) is None:
            return peer  # a hop that is no address: believe none of them
        if hop not in trusted:
            return hop
    return hops[0] if hops else peer


class ClientAddress:
    """ASGI middleware: the request's `client` (and `scheme`, from `X-Forwarded-Proto`) as `client_address`
    finds them; a request from an untrusted peer is left as it came."""

    def __init__(self, app: ASGIApp, trusted: TrustedProxies | None = None) -> None:
        self.app = app
        self.trusted = trusted if trusted is not None else TrustedProxies.from_env()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and client and client[0] in self.trusted:
            headers: dict[str, str] = {}
            for name, value in scope.get("headers", []):
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                headers[key] = f"{headers[key]}, {text}" if key in headers else text
            scope = dict(scope)
            address = client_address(client[0], headers, self.trusted)
            if address != client[0]:
                scope["client"] = (address, 0)
            proto = headers.get("x-forwarded-proto", "").strip().lower()
            if proto in SCHEMES:
                scope["scheme"] = proto
        await self.app(scope, receive, send)
