"""HTTP views over the read model: a case, its audit timeline, a board's case register and reviews, the regional
summary and review pipeline."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, HTTPException

from lif.auth import CaseAction, CurrentPrincipal, case_reads, forbid, not_found, require_role
from lif.boards import get_board
from lif.clock import Today
from lif.paging import Limit, Offset
from projections import audit, queries, review_queries
from projections.audit import DocumentText
from projections.decisioning_documents import DocumentsUnavailable

TEXTS_RETRY_AFTER_SECONDS = 5


def build_router(pool: asyncpg.Pool, today: Today, document_text: DocumentText | None = None) -> APIRouter:
    """`document_text` asks decisioning for the texts the audit timeline quotes; without it (a contract
    export) the timeline shows document references with status `not_read`."""
    router = APIRouter(tags=["cases"])

    @router.get("/v1/cases/{case_id}")
    async def get_case(case_id: UUID, principal: CurrentPrincipal) -> dict[str, Any]:
        """The case: its recommendation (as `lif assess` prints it), deadlines, and what the caller's role may
        read of it (README, Access): `review` (null without one) and `events` in order are absent otherwise."""
        require_role(principal, CaseAction.READ_CASE)
        case = await queries.get_case(pool, case_id, today(), case_reads(principal))
        if case is None:
            raise not_found()
        return case

    @router.get(
        "/v1/cases/{case_id}/decisions",
        responses={503: {"description": "Decisioning could not be asked for the texts: retry after `Retry-After`"}},
    )
    async def case_decisions(case_id: UUID, principal: CurrentPrincipal) -> dict[str, Any]:
        """The audit timeline: every recommendation, referral, discretionary input, decision, appointment,
        National Panel notice and learning-theme tag of the case, in recorded order, each with its actor,
        rule pack version, facts or rule ids, and its free text (asked of decisioning, which logs the read)
        checked against the hash the event recorded."""
        require_role(principal, CaseAction.READ_DECISIONS)
        case = await audit.load_case_events(pool, case_id, case_reads(principal))
        if case is None:
            raise not_found()
        try:
            return await audit.case_timeline(case, document_text)
        except DocumentsUnavailable as error:
            raise HTTPException(
                503, detail=str(error), headers={"Retry-After": str(TEXTS_RETRY_AFTER_SECONDS)}
            ) from None

    @router.get("/v1/lscbs/{lscb}/cases")
    async def list_cases(
        lscb: str,
        principal: CurrentPrincipal,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """The board's case register, newest first; a reviewer's holds the cases of their reviews only."""
        require_role(principal, CaseAction.READ_CASE)
        if get_board(lscb) is None or not principal.sees_board(lscb):
            raise not_found()
        return await queries.list_cases(pool, lscb, today(), case_reads(principal), limit=limit, offset=offset)

    @router.get("/v1/region/summary")
    async def region_summary(principal: CurrentPrincipal) -> dict[str, Any]:
        """Counts by board and review type, and deadlines open, breached and due soon."""
        if not principal.sees_region_summary():
            raise forbid("the regional summary needs a region-scoped token")
        return await queries.region_summary(pool, today())

    @router.get("/v1/lscbs/{lscb}/reviews", tags=["reviews"])
    async def list_reviews(
        lscb: str,
        principal: CurrentPrincipal,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """The board's reviews, newest first: kind, method, status, current stage, stages overdue against the
        plan, and progress against T6. A reviewer sees only the reviews they are a member of."""
        require_role(principal, CaseAction.READ_REVIEW)
        if get_board(lscb) is None or not principal.sees_board(lscb):
            raise not_found()
        member = case_reads(principal).member
        return await review_queries.board_reviews(pool, lscb, today(), member=member, limit=limit, offset=offset)

    @router.get("/v1/region/reviews", tags=["reviews"])
    async def region_reviews(principal: CurrentPrincipal) -> dict[str, Any]:
        """The review pipeline by board: counts by status, kind and current stage, stages overdue, T6 overdue."""
        if not principal.sees_region_summary():
            raise forbid("the regional review pipeline needs a region-scoped token")
        return await review_queries.region_reviews(pool, today())

    return router
