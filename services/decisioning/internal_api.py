"""Decisioning's internal routes: what other services ask decisioning over the service network.

Not in the public route table (lif.http_routes), so the reverse proxy never forwards them, and not in
the public OpenAPI document; each needs a service credential (lif.auth.service).
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException

from lif.auth.service import ServiceCredentials, service_caller
from lif.erasable import ErasableStore
from services.decisioning.document_reads import read_document

DOCUMENT_READERS = ("projections",)
"""The services that may read decisioning's documents (the read model's audit timeline quotes them)."""


def build_internal_router(documents: ErasableStore, credentials: ServiceCredentials) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    caller = service_caller(credentials, DOCUMENT_READERS)

    @router.get("/internal/v1/documents/{lscb}/{document_id}")
    async def document(
        lscb: str,
        document_id: UUID,
        case_id: UUID | None = None,
        reader: str = Depends(caller),  # a default, not Annotated: `caller` is local, out of the annotations' reach
    ) -> dict[str, str]:
        """The document's text for the calling service, logged as read by it; 404 when erased or unknown."""
        text = await asyncio.to_thread(read_document, documents, reader, lscb, document_id, case_id)
        if text is None:
            raise HTTPException(404, detail="no such document (erased or unknown)")
        return {"text": text}

    return router
