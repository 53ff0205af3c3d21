"""Orchestration's internal routes: what other services ask orchestration over the service network.

Not in the public route table (lif.http_routes), so the reverse proxy never forwards them, and not in the
public OpenAPI document; each needs a service credential (lif.auth.service).
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException

from lif.auth.service import ServiceCredentials, service_caller
from lif.erasable import ErasableStore
from services.orchestration.application import OrchestrationApplication
from services.orchestration.summary_reads import read_learning_summary

SUMMARY_READERS = ("learning",)
"""The services that may read a review's Learning Summary (learning collation collates it)."""


def build_internal_router(
    app: OrchestrationApplication, store: ErasableStore, credentials: ServiceCredentials
) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    caller = service_caller(credentials, SUMMARY_READERS)

    @router.get("/internal/v1/learning-summaries/{lscb}/{case_id}")
    async def learning_summary(lscb: str, case_id: UUID, reader: str = Depends(caller)) -> dict[str, Any]:
        """The case's Learning Summary for the calling service, logged as read by it; 404 when none."""
        view = await asyncio.to_thread(read_learning_summary, app, store, reader, lscb, case_id)
        if view is None:
            raise HTTPException(404, detail="no learning summary for that case")
        return view

    return router
