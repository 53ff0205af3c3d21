"""Closed reviews' Learning Summaries asked of orchestration over its internal route, with learning's
service credential. Orchestration owns the text and logs the read; learning never reads its tables."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from services.learning.errors import Unavailable

TIMEOUT_SECONDS = 10.0


class OrchestrationSummaries:
    """`(lscb, case_id) -> the summary as JSON, or None`, over HTTP at `base_url` (LIF_ORCHESTRATION_URL)."""

    def __init__(self, base_url: str, service_token: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {service_token}"},
            timeout=TIMEOUT_SECONDS,
            transport=transport,
        )

    def __call__(self, lscb: str, case_id: UUID) -> dict[str, Any] | None:
        try:
            answer = self.client.get(f"/internal/v1/learning-summaries/{lscb}/{case_id}")
        except httpx.HTTPError as error:
            reason = type(error).__name__
            raise Unavailable(f"orchestration could not be asked for the learning summary ({reason})") from None
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise Unavailable(f"orchestration answered {answer.status_code} when asked for the learning summary")
        view: dict[str, Any] = answer.json()
        return view

    def close(self) -> None:
        self.client.close()
