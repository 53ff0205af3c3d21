"""Decisioning's internal routes: what other services ask decisioning over the service network.

Not in the public route table (lif.http_routes), so the reverse proxy never forwards them, and not in
the public OpenAPI document; each needs a service credential (lif.auth.service).
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException

from lif.auth.service import ServiceCredentials, service_caller
from services.decisioning.board_actions import BoardActions
from services.decisioning.panel_notice_reads import read_notice

NOTICE_READERS = ("notifications",)
"""The services that may read a prepared National Panel notice (notifications sends it)."""


def build_internal_router(actions: BoardActions, credentials: ServiceCredentials) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    caller = service_caller(credentials, NOTICE_READERS)

    @router.get("/internal/v1/panel-notices/{case_id}/{notice_id}")
    async def panel_notice(
        case_id: UUID,
        notice_id: UUID,
        reader: str = Depends(caller),  # a default, not Annotated: `caller` is local, out of the annotations' reach
    ) -> dict[str, Any]:
        """The prepared notice with its texts for the calling service; 404 when there is no such notice."""
        found = await asyncio.to_thread(read_notice, actions, case_id, notice_id)
        if found is None:
            raise HTTPException(404, detail="no such National Panel notice")
        return found

    return router
