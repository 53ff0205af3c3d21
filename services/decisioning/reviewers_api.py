"""HTTP adapter of the lead reviewer registry: `/v1/reviewers`.

Reviewer names are personal data, so only people who appoint or oversee reviewers see them: any board's
staff, auditors and admins; the regional analyst (aggregates only) does not.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from lif.auth import CurrentPrincipal, Principal, Role, forbid, not_found
from lif.idempotency import REPEAT, Idempotent, KeyReused
from lif.paging import Limit, Offset
from services.decisioning.reviewers import REVIEWER_ID_PATTERN, NewReviewer, Reviewer, ReviewerRegistry


class ReviewerList(BaseModel):
    """One page of the registered reviewers, oldest first, and how many there are in all."""

    reviewers: list[Reviewer]
    total: int = Field(description="Every registered reviewer, across all pages")
    limit: int
    offset: int


def may_add_reviewers(principal: Principal) -> bool:
    """Admins, and the business manager of any board (boards share the region's pool of reviewers)."""
    return principal.role in (Role.ADMIN, Role.BUSINESS_MANAGER)


def may_read_reviewers(principal: Principal) -> bool:
    """People who work or audit reviews; not the regional analyst (aggregates only) nor an integration
    (it submits incidents), since reviewers' names are personal data."""
    return principal.role not in (Role.REGIONAL_ANALYST, Role.INTEGRATION)


def build_router(registry: ReviewerRegistry) -> APIRouter:
    router = APIRouter(tags=["reviewers"])

    @router.post(
        "/v1/reviewers",
        status_code=201,
        response_model=Reviewer,
        summary="Register a lead reviewer",
        responses={
            201: {"description": "Registered: the entry with its new reviewer id"},
            200: REPEAT,
            403: {"description": "Only an admin or a business manager may register reviewers"},
            422: {"description": "Invalid reviewer: one message per bad field"},
        },
    )
    async def add_reviewer(
        reviewer: NewReviewer,
        principal: CurrentPrincipal,
        key: Idempotent,
    ) -> Reviewer | JSONResponse:
        """Register a reviewer with their employer and affiliations, for the independence check. With an
        `Idempotency-Key` the same request again answers 200 with the entry it registered, another request
        under the key 422."""
        if not may_add_reviewers(principal):
            raise forbid("only an admin or a business manager may register reviewers")
        try:
            added, created = await asyncio.to_thread(registry.add, reviewer, key)
        except KeyReused as reused:
            return JSONResponse(
                status_code=422, content={"detail": [{"field": reused.field, "message": reused.message}]}
            )
        return added if created else JSONResponse(status_code=200, content=added.model_dump(mode="json"))

    @router.get(
        "/v1/reviewers",
        response_model=ReviewerList,
        summary="List the lead reviewers",
        responses={403: {"description": "The regional analyst sees aggregate figures only"}},
    )
    async def list_reviewers(principal: CurrentPrincipal, limit: Limit = 100, offset: Offset = 0) -> ReviewerList:
        """Registered reviewers with their employer and affiliations, oldest first, a page at a time."""
        if not may_read_reviewers(principal):
            raise forbid("the regional analyst role sees aggregate figures only")
        reviewers = await asyncio.to_thread(registry.list, limit=limit, offset=offset)
        total = await asyncio.to_thread(registry.count)
        return ReviewerList(reviewers=reviewers, total=total, limit=limit, offset=offset)

    @router.get(
        "/v1/reviewers/{reviewer_id}",
        response_model=Reviewer,
        summary="Read one lead reviewer",
        responses={
            403: {"description": "The regional analyst sees aggregate figures only"},
            404: {"description": "No such reviewer"},
        },
    )
    async def get_reviewer(
        reviewer_id: Annotated[str, Path(pattern=REVIEWER_ID_PATTERN, description="rev- and 10 hex digits")],
        principal: CurrentPrincipal,
    ) -> Reviewer:
        """One reviewer with their employer and affiliations."""
        if not may_read_reviewers(principal):
            raise forbid("the regional analyst role sees aggregate figures only")
        reviewer = await asyncio.to_thread(registry.get, reviewer_id)
        if reviewer is None:
            raise not_found(f"reviewer {reviewer_id} not found")
        return reviewer

    return router
