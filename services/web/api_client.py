"""The web service's only way to data: the public HTTP API, called with the signed-in person's token.

In the embedded runtime the client reaches the in-process app through `httpx.ASGITransport`; in the
distributed runtime it calls the reverse proxy's URL. Either way the API authorises every call, so the
pages never hold a second copy of the access rules.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Answer:
    """An API answer: its status and JSON body (or None when it was not JSON)."""

    status: int
    body: Any
    text: str = ""
    retry_after: str | None = None
    """A 429's or 503's `Retry-After` (seconds)."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def unrouted(self) -> bool:
        """No service on this server serves the path (the framework's own 404), unlike LIF's "not found"."""
        return self.status == 404 and isinstance(self.body, dict) and self.body.get("detail") == "Not Found"

    def field_errors(self) -> dict[str, str]:
        """A 422's messages by field (the API's `{"detail": [{"field", "message"}]}`)."""
        detail = self.body.get("detail") if isinstance(self.body, dict) else None
        if not isinstance(detail, list):
            return {}
        errors: dict[str, str] = {}
        for item in detail:
            if isinstance(item, dict):
                errors.setdefault(str(item.get("field", "")), str(item.get("message", "")))
        return errors

    def message(self) -> str:
        """The refusal's message (`{"detail": "..."}`), or a generic one."""
        detail = self.body.get("detail") if isinstance(self.body, dict) else None
        return detail if isinstance(detail, str) else f"The service answered {self.status}."


BROWSER_ADDRESS: contextvars.ContextVar[str] = contextvars.ContextVar("browser_address", default="127.0.0.1")
"""The address of the browser a page is serving, so the API's per-address limits (failed authentications)
count that person, not the web service all pages share. In-process it is the call's client address; through
the proxy it goes as `X-Real-IP`, which the proxy believes from the web service alone (lif.client_address)."""


class _BrowserTransport(httpx.ASGITransport):
    """The in-process transport, presenting each call as coming from the browser being served."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.client = (BROWSER_ADDRESS.get(), 0)  # read when the scope is built, before any await
        return await super().handle_async_request(request)


class ApiClient:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    @classmethod
    def in_process(cls, app: Any) -> ApiClient:
        """A client of the app in this process (the embedded runtime)."""
        return cls(httpx.AsyncClient(transport=_BrowserTransport(app=app), base_url="http://lif", timeout=30))

    @classmethod
    def remote(cls, base_url: str, transport: httpx.AsyncBaseTransport | None = None) -> ApiClient:
        """A client of the API behind the reverse proxy (the distributed runtime), naming the browser."""
        return cls(
            httpx.AsyncClient(
                base_url=base_url.rstrip("/"), timeout=30, transport=transport,
                event_hooks={"request": [_name_the_browser]},
            )
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def get(self, token: str, path: str, params: dict[str, Any] | None = None) -> Answer:
        response = await self.client.get(path, params=params, headers=_bearer(token))
        return _answer(response)

    async def post(
        self, token: str, path: str, body: dict[str, Any] | None = None, *, idempotency_key: str | None = None
    ) -> Answer:
        headers = _bearer(token)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        response = await self.client.post(path, json=body if body is not None else {}, headers=headers)
        return _answer(response)

    async def delete(
        self, token: str, path: str, params: dict[str, Any] | None = None, *, idempotency_key: str | None = None
    ) -> Answer:
        headers = _bearer(token)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return _answer(await self.client.delete(path, params=params, headers=headers))


async def _name_the_browser(request: httpx.Request) -> None:
    request.headers["X-Real-IP"] = BROWSER_ADDRESS.get()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _answer(response: httpx.Response) -> Answer:
    try:
        body = response.json()
    except ValueError:
        body = None
    return Answer(
        response.status_code, body, response.text if body is None else "", response.headers.get("retry-after")
    )


def new_idempotency_key() -> str:
    """One per rendered form: a resubmission of the same form is the same command, recorded once."""
    return uuid.uuid4().hex


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> bool:
    """Poll `check` until it holds or `timeout` passes (read-your-writes after a command); True when it held."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        if await check():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)
