"""HTTP: what is due. A board's obligations with filters, sorting and paging, and the region's counts.

The scope rules are those of every view (lif.auth): another board's list answers 404 exactly as a board
that does not exist, a reviewer sees the obligations of the reviews they are a member of, and the regional
counts need a region-scoped token (403 otherwise).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from events.fields import Date
from lif.auth import CaseAction, CurrentPrincipal, case_reads, forbid, not_found, require_role
from lif.boards import get_board
from lif.clock import Today
from lif.paging import Limit, Offset
from services.notifications.feeds import FEED_PATH_PATTERN, FeedStore, feed_items, render
from services.notifications.index import ObligationIndex

StateFilter = Literal["open", "met", "cancelled", "breached"]
Sort = Literal["due", "-due", "kind", "state"]
KindFilter = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_]{1,64}$", description="T1, T2, stage_due, ...")]


def build_router(index: ObligationIndex, feeds: FeedStore, today: Today) -> APIRouter:
    router = APIRouter(tags=["obligations"])

    @router.get("/v1/lscbs/{lscb}/obligations")
    async def board_obligations(
        lscb: str,
        principal: CurrentPrincipal,
        state: StateFilter | None = None,
        kind: KindFilter = None,
        due_before: Date | None = None,
        overdue: bool = False,
        sort: Sort = "due",
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """The board's obligations (T1, T2, T6, T7, stage due dates, the 2018 regime's deadlines): kind, due date,
        state (open, met, cancelled, or breached: open past its due date), the rule pack that set it, who answers
        for it and its history. `overdue=true` is `state=breached`; `counts` are the board's by state and kind."""
        require_role(principal, CaseAction.READ_CASE)
        if get_board(lscb) is None or not principal.sees_board(lscb):
            raise not_found()
        return await index.list_board(
            lscb,
            case_reads(principal),
            today(),
            state=state,
            kind=kind,
            due_before=due_before,
            overdue=overdue,
            sort=sort,
            limit=limit,
            offset=offset,
        )

    @router.get("/v1/region/obligations")
    async def region_obligations(principal: CurrentPrincipal) -> dict[str, Any]:
        """Aggregate counts only: per board, obligations open, breached, met and cancelled."""
        if not principal.sees_region_summary():
            raise forbid("the regional obligation counts need a region-scoped token")
        return await index.region_counts(today())

    @router.get(
        "/v1/feeds/{feed}",
        tags=["feeds"],
        response_class=Response,
        responses={200: {"content": {"text/calendar": {}}, "description": "The feed (iCalendar, RFC 5545)"}},
    )
    async def calendar_feed(
        request: Request, feed: Annotated[str, Path(pattern=FEED_PATH_PATTERN, description="The feed's secret URL")]
    ) -> Response:
        """A calendar feed by its own unguessable URL (`lif feeds create`); no bearer token, since calendar
        clients send none. Every open obligation its owner may see, as an all-day event with alarms. A revoked
        or unknown feed answers 404."""
        found = await feeds.resolve(feed)
        tokens = request.app.state.authenticator.store
        items = None if found is None else await feed_items(found, index, tokens, today())
        if found is None or items is None:
            raise not_found()
        name = f"LIF obligations: {found.lscb}" if found.owner_kind == "board" else "LIF obligations: mine"
        return Response(content=render(items, name), media_type="text/calendar; charset=utf-8")

    return router
