"""Intake's internal routes: what other services ask intake over the service network.

Not in the public route table (lif.http_routes), so the reverse proxy never forwards them, and not in
the public OpenAPI document; each needs a service credential (lif.auth.service).
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException

from lif.auth.service import ServiceCredentials, service_caller
from services.intake.application import IntakeApplication
from services.intake.summary_reads import read_summary

SUMMARY_READERS = ("decisioning",)
"""The services that may read an incident summary (decisioning quotes it in a National Panel notice)."""


def build_internal_router(intake: IntakeApplication, credentials: ServiceCredentials) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    caller = service_caller(credentials, SUMMARY_READERS)

    @router.get("/internal/v1/incident-summaries/{lscb}/{summary_ref}")
    async def incident_summary(
        lscb: str,
        summary_ref: UUID,
        case_id: UUID | None = None,
        reader: str = Depends(caller),  # a default, not Annotated: `caller` is local, out of the annotations' reach
    ) -> dict[str, str]:
        """The summary for the calling service, logged as read by it; 404 when erased or unknown."""
        summary = await asyncio.to_thread(read_summary, intake, reader, lscb, summary_ref, case_id)
        if summary is None:
            raise HTTPException(404, detail="no such incident summary (erased or unknown)")
        return {"summary": summary}

    return router
