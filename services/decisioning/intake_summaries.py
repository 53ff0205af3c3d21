"""Incident summaries asked of intake over its internal route, with decisioning's service credential.

The T3 National Panel notice quotes the incident summary, personal data that intake owns and keeps out
of the events; decisioning never reads intake's tables, it asks (intake logs the read).
"""

from __future__ import annotations

from uuid import UUID

import httpx

from services.decisioning.errors import Unavailable

TIMEOUT_SECONDS = 10.0


class IntakeSummaries:
    """`(lscb, summary_ref, case_id) -> summary or None`, over HTTP at `base_url` (LIF_INTAKE_URL)."""

    def __init__(self, base_url: str, service_token: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {service_token}"},
            timeout=TIMEOUT_SECONDS,
            transport=transport,
        )

    def __call__(self, lscb: str, summary_ref: UUID, case_id: UUID) -> str | None:
        try:
            answer = self.client.get(
                f"/internal/v1/incident-summaries/{lscb}/{summary_ref}", params={"case_id": str(case_id)}
            )
        except httpx.HTTPError as error:
            raise Unavailable(f"intake could not be asked for the incident summary ({type(error).__name__})") from None
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise Unavailable(f"intake answered {answer.status_code} when asked for the incident summary")
        summary: str = answer.json()["summary"]
        return summary

    def close(self) -> None:
        self.client.close()
