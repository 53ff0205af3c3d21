"""The prepared National Panel notices, asked of decisioning (which owns them and their erasable texts).

Over decisioning's internal route with this service's credential in the distributed runtime; in the
embedded runtime the composition root passes an in-process reader with the same answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import httpx

TIMEOUT_SECONDS = 10.0

NoticeSource = Callable[[UUID, UUID], Awaitable[dict[str, Any] | None]]
"""`(case_id, notice_id) -> the notice (board, rule, regime, sent, html, markdown) or None when unknown`."""


class NoticeUnavailable(Exception):
    """Decisioning could not be asked now (down, or refused our credential): try again later."""


class DecisioningNotices:
    """A `NoticeSource` over HTTP at `base_url` (LIF_DECISIONING_URL)."""

    def __init__(self, base_url: str, service_token: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {service_token}"},
            timeout=TIMEOUT_SECONDS,
            transport=transport,
        )

    async def __call__(self, case_id: UUID, notice_id: UUID) -> dict[str, Any] | None:
        try:
            answer = await self.client.get(f"/internal/v1/panel-notices/{case_id}/{notice_id}")
        except httpx.HTTPError as error:
            raise NoticeUnavailable(f"decisioning could not be asked for the notice ({type(error).__name__})") from None
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise NoticeUnavailable(f"decisioning answered {answer.status_code} when asked for the notice")
        found: dict[str, Any] = answer.json()
        return found

    async def close(self) -> None:
        await self.client.aclose()
