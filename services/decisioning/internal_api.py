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
from services.decisioning.document_reads import read_document
from services.decisioning.panel_notice_reads import read_notice

DOCUMENT_READERS = ("projections",)
"""The services that may read decisioning's documents (the read model's audit timeline quotes them)."""
NOTICE_READERS = ("notifications",)
"""The services that may read a prepared National Panel notice (notifications sends it)."""


def build_internal_router(actions: BoardActions, credentials: ServiceCredentials) -> APIRouter:
    """One router for every internal route of decisioning's; each route names the services it answers."""
    router = APIRouter(include_in_schema=False)
    document_caller = service_caller(credentials, DOCUMENT_READERS)
    notice_caller = service_caller(credentials, NOTICE_READERS)

    @router.get("/internal/v1/documents/{lscb}/{document_id}")
    async def document(
        lscb: str,
        document_id: UUID,
        case_id: UUID | None = None,
        reader: str = Depends(document_caller),  # a default, not Annotated: the caller is local
    ) -> dict[str, str]:
        """The document's text for the calling service, logged as read by it; 404 when erased or unknown."""
        text = await asyncio.to_thread(read_document, actions.documents, reader, lscb, document_id, case_id)
        if text is None:
            raise HTTPException(404, detail="no such document (erased or unknown)")
        return {"text": text}

    @router.get("/internal/v1/panel-notices/{case_id}/{notice_id}")
    async def panel_notice(
        case_id: UUID,
        notice_id: UUID,
        reader: str = Depends(notice_caller),  # a default, not Annotated: the caller is local
    ) -> dict[str, Any]:
        """The prepared notice with its texts for the calling service; 404 when there is no such notice."""
        found = await asyncio.to_thread(read_notice, actions, case_id, notice_id)
        if found is None:
            raise HTTPException(404, detail="no such National Panel notice")
        return found

    return router
