"""Decisioning's documents asked over its internal route, with the read model's service credential.

The audit timeline quotes rationales, referral reasons, notes and notices: personal data that decisioning
owns and keeps out of the events. The read model never reads decisioning's tables; it asks, and
decisioning logs the read (services/decisioning/document_reads.py).
"""

from __future__ import annotations

from uuid import UUID

import httpx

TIMEOUT_SECONDS = 10.0


class DocumentsUnavailable(Exception):
    """Decisioning could not be asked for a document just now; the view answers 503 and a retry may succeed."""


class DecisioningDocuments:
    """`(lscb, case_id, document_id) -> text or None`, over HTTP at `base_url` (LIF_DECISIONING_URL)."""

    def __init__(
        self, base_url: str, service_token: str, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {service_token}"},
            timeout=TIMEOUT_SECONDS,
            transport=transport,
        )

    async def __call__(self, lscb: str, case_id: UUID, document_id: UUID) -> str | None:
        path = f"/internal/v1/documents/{lscb}/{document_id}"
        try:
            answer = await self.client.get(path, params={"case_id": str(case_id)})
        except httpx.HTTPError as error:
            why = type(error).__name__
            raise DocumentsUnavailable(f"decisioning could not be asked for the texts ({why})") from None
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise DocumentsUnavailable(f"decisioning answered {answer.status_code} when asked for the texts")
        text: str = answer.json()["text"]
        return text

    async def close(self) -> None:
        await self.client.aclose()
