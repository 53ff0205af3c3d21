"""HTTP views over the read model: a case, its audit timeline, a board's case register and reviews, the regional
summary and review pipeline."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter

from lif.auth import CurrentPrincipal, Role, forbid, not_found
from lif.boards import get_board
from lif.clock import Today
from lif.paging import Limit, Offset
from projections import audit, queries, review_queries
from projections.audit import DocumentText


def build_router(pool: asyncpg.Pool, today: Today, document_text: DocumentText | None = None) -> APIRouter:
    """`document_text` reads the decisioning service's erasable store for the audit timeline; without it the
    timeline shows document references with status `not_read`."""
    router = APIRouter(tags=["cases"])

    @router.get("/v1/cases/{case_id}", responses={404: {"description": "No such case in your scope"}})
    async def get_case(case_id: UUID, principal: CurrentPrincipal) -> dict[str, Any]:
        """The case: its recommendation (as `lif assess` prints it), deadlines, review progress (`review`: null
        without one, or for a reviewer who is not a member of it) and events in order."""
        if principal.role == Role.REGIONAL_ANALYST:
            raise forbid("the regional analyst role sees aggregate figures only")
        member = principal.name if principal.role is Role.REVIEWER else None
        case = await queries.get_case(pool, case_id, today(), review_member=member)
        if case is None or not principal.sees_board(case["lscb"]):
            raise not_found(f"case {case_id} not found")
        return case

    @router.get("/v1/cases/{case_id}/decisions", responses={404: {"description": "No such case in your scope"}})
    async def case_decisions(case_id: UUID, principal: CurrentPrincipal) -> dict[str, Any]:
        """The audit timeline: every recommendation, referral, discretionary input, decision, appointment,
        National Panel notice and learning-theme tag of the case, in recorded order, each with its actor,
        rule pack version, facts or rule ids, and its free text checked against the hash the event recorded."""
        if principal.role == Role.REGIONAL_ANALYST:
            raise forbid("the regional analyst role sees aggregate figures only")
        case = await audit.load_case_events(pool, case_id)
        if case is None or not principal.sees_board(case.lscb):
            raise not_found(f"case {case_id} not found")
        return await audit.case_timeline(case, document_text)

    @router.get("/v1/lscbs/{lscb}/cases", responses={404: {"description": "No such board in your scope"}})
    async def list_cases(
        lscb: str,
        principal: CurrentPrincipal,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """The board's case register, newest first."""
        if principal.role == Role.REGIONAL_ANALYST:
            raise forbid("the regional analyst role sees aggregate figures only")
        if get_board(lscb) is None or not principal.sees_board(lscb):
            raise not_found(f"board {lscb} not found")
        return await queries.list_cases(pool, lscb, today(), limit=limit, offset=offset)

    @router.get("/v1/region/summary", responses={403: {"description": "Board-scoped tokens"}})
    async def region_summary(principal: CurrentPrincipal) -> dict[str, Any]:
        """Counts by board and review type, and deadlines open, breached and due soon."""
        if not principal.sees_region_summary():
            raise forbid("the regional summary needs a region-scoped token")
        return await queries.region_summary(pool, today())

    @router.get(
        "/v1/lscbs/{lscb}/reviews",
        tags=["reviews"],
        responses={403: {"description": "Regional analysts"}, 404: {"description": "No such board in your scope"}},
    )
    async def list_reviews(
        lscb: str,
        principal: CurrentPrincipal,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """The board's reviews, newest first: kind, method, status, current stage, stages overdue against the
        plan, and progress against T6. A reviewer sees only the reviews they are a member of."""
        if principal.role == Role.REGIONAL_ANALYST:
            raise forbid("the regional analyst role sees aggregate figures only")
        if get_board(lscb) is None or not principal.sees_board(lscb):
            raise not_found(f"board {lscb} not found")
        member = principal.name if principal.role is Role.REVIEWER else None
        return await review_queries.board_reviews(pool, lscb, today(), member=member, limit=limit, offset=offset)

    @router.get("/v1/region/reviews", tags=["reviews"], responses={403: {"description": "Board-scoped tokens"}})
    async def region_reviews(principal: CurrentPrincipal) -> dict[str, Any]:
        """The review pipeline by board: counts by status, kind and current stage, stages overdue, T6 overdue."""
        if not principal.sees_region_summary():
            raise forbid("the regional review pipeline needs a region-scoped token")
        return await review_queries.region_reviews(pool, today())

    return router
