"""The obligations table: the notifications log folded per case, for the timers, the API and the feeds.

A learning recommendation's obligation (an action's due date, a re-audit) names no case: its row's `case_id`
is NULL and `recommendation_id` names the recommendation; `subject_id` is the aggregate's key either way.

`catch_up` reads the log from the position it recorded, re-folds each case the new entries touch from its
aggregate and writes the case's rows with the new position in one transaction, under a row lock on that
position, so two processes catching up at once never interleave. The log is the truth: an empty table
rebuilt from position 0 is the same table.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from lif.auth import CaseReads
from services.notifications.application import NotificationsApplication
from services.notifications.domain import CaseObligations
from services.notifications.state import CaseState
from services.notifications.timers import next_fire

SCHEMA = "lif_notifications"
TABLE = f"{SCHEMA}.obligations"
POSITION = "obligations"
PAGE = 500

SORTS = {
    "due": "due ASC, obligation_id",
    "-due": "due DESC, obligation_id",
    "kind": "kind ASC, due ASC, obligation_id",
    "state": "state ASC, due ASC, obligation_id",
}


def _changed_cases(app: NotificationsApplication, after: int) -> tuple[list[CaseState], int]:
    """The cases whose aggregates the next page of the log changed, re-read whole, and the last position."""
    notifications = app.recorder.select_notifications(start=after + 1, limit=PAGE)  # type: ignore[attr-defined]
    if not notifications:
        return [], after
    ids = list(dict.fromkeys(UUID(str(n.originator_id)) for n in notifications))
    states: list[CaseState] = []
    for aggregate_id in ids:
        case: CaseObligations = app.repository.get(aggregate_id)  # type: ignore[assignment]
        states.append(case.state)
    return states, notifications[-1].id


class ObligationIndex:
    def __init__(self, pool: asyncpg.Pool, app: NotificationsApplication) -> None:
        self.pool = pool
        self.app = app
        self.wakeup = asyncio.Event()
        self.notified: Callable[[], bool] | None = None  # set when every commit to the log wakes it

    async def catch_up(self) -> int:
        """Fold what the log holds beyond the recorded position; returns how many cases were rewritten."""
        rewritten = 0
        while True:
            async with self.pool.acquire() as conn, conn.transaction():
                after = await conn.fetchval(
                    f"SELECT position FROM {SCHEMA}.index_positions WHERE name = $1 FOR UPDATE", POSITION
                )
                states, last = await asyncio.to_thread(_changed_cases, self.app, after)
                if last <= after:
                    return rewritten
                for state in states:
                    await _write_case(conn, state)
                await conn.execute(
                    f"UPDATE {SCHEMA}.index_positions SET position = $2 WHERE name = $1", POSITION, last
                )
                rewritten += len(states)

    async def due_cases(self, today: date) -> list[UUID]:
        """The ids of the aggregates (cases, learning subjects) with an obligation whose next timer day has
        come (the indexed due query)."""
        rows = await self.pool.fetch(
            f"SELECT DISTINCT subject_id FROM {TABLE} WHERE next_fire <= $1 AND state = 'open' ORDER BY subject_id",
            today,
        )
        return [row["subject_id"] for row in rows]

    async def list_board(
        self,
        lscb: str,
        reads: CaseReads,
        today: date,
        *,
        state: str | None = None,
        kind: str | None = None,
        due_before: date | None = None,
        overdue: bool = False,
        sort: str = "due",
        limit: int = 100,
        offset: int = 0,
        roles: list[str] | None = None,
    ) -> dict[str, Any]:
        where, args = _filters(lscb, reads, today, state, kind, due_before, overdue, roles)
        rows = await self.pool.fetch(
            f"SELECT document, lscb, case_id FROM {TABLE} WHERE {where} ORDER BY {SORTS[sort]} "
            f"LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
            *args,
            limit,
            offset,
        )
        total = await self.pool.fetchval(f"SELECT count(*) FROM {TABLE} WHERE {where}", *args)
        counts_where, counts_args = _filters(lscb, reads, today, None, None, None, False, roles)
        counts = await _counts(self.pool, counts_where, counts_args, today)
        return {
            "lscb": lscb,
            "obligations": [_item(row, today) for row in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
            "counts": counts,
        }

    async def open_items(self, reads: CaseReads, today: date, roles: list[str] | None = None) -> list[dict[str, Any]]:
        """Every open obligation `reads` may see (for a calendar feed), soonest first."""
        where, args = _filters(None, reads, today, "open_or_breached", None, None, False, roles)
        rows = await self.pool.fetch(
            f"SELECT document, lscb, case_id FROM {TABLE} WHERE {where} ORDER BY due, obligation_id", *args
        )
        return [_item(row, today) for row in rows]

    async def region_counts(self, today: date) -> dict[str, Any]:
        """Aggregates only: per board, obligations by state (breached derived), and how many are due this week."""
        rows = await self.pool.fetch(
            f"SELECT lscb, {_STATE_SQL} AS state, count(*) AS n FROM {TABLE} GROUP BY lscb, 2 ORDER BY lscb, 2", today
        )
        boards: dict[str, dict[str, int]] = {}
        for row in rows:
            boards.setdefault(row["lscb"], {})[row["state"]] = row["n"]
        total: dict[str, int] = {}
        for counts in boards.values():
            for name, n in counts.items():
                total[name] = total.get(name, 0) + n
        return {"boards": boards, "total": total}


_STATE_SQL = "(CASE WHEN state = 'open' AND due < $1 THEN 'breached' ELSE state END)"


def _filters(
    lscb: str | None,
    reads: CaseReads,
    today: date,
    state: str | None,
    kind: str | None,
    due_before: date | None,
    overdue: bool,
    roles: list[str] | None,
) -> tuple[str, list[Any]]:
    """The WHERE clause and arguments: the caller's reach first (boards, and a reviewer's reviews), then filters."""
    args: list[Any] = [today]
    conditions = ["$1::date IS NOT NULL"]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if lscb is not None:
        conditions.append(f"lscb = {arg(lscb)}")
    if reads.boards is not None:
        conditions.append(f"lscb = ANY({arg(sorted(reads.boards))}::text[])")
    if reads.member is not None:
        conditions.append(f"{arg(reads.member)} = ANY(member_ids)")
    if state == "breached" or overdue:
        conditions.append("state = 'open' AND due < $1")
    if state == "open":
        conditions.append("state = 'open' AND due >= $1")
    elif state == "open_or_breached":
        conditions.append("state = 'open'")
    elif state in ("met", "cancelled"):
        conditions.append(f"state = {arg(state)}")
    if kind is not None:
        conditions.append(f"kind = {arg(kind)}")
    if due_before is not None:
        conditions.append(f"due < {arg(due_before)}")
    if roles is not None:
        conditions.append(f"answering_roles && {arg(roles)}::text[]")
    return " AND ".join(conditions), args


async def _counts(pool: asyncpg.Pool, where: str, args: list[Any], today: date) -> dict[str, Any]:
    rows = await pool.fetch(
        f"SELECT {_STATE_SQL} AS state, kind, count(*) AS n FROM {TABLE} WHERE {where} GROUP BY 1, 2", *args
    )
    by_state: dict[str, int] = {"open": 0, "breached": 0, "met": 0, "cancelled": 0}
    by_kind: dict[str, dict[str, int]] = {}
    for row in rows:
        by_state[row["state"]] = by_state.get(row["state"], 0) + row["n"]
        by_kind.setdefault(row["kind"], {})[row["state"]] = row["n"]
    return {"by_state": by_state, "by_kind": by_kind}


def _item(row: asyncpg.Record, today: date) -> dict[str, Any]:
    document = json.loads(row["document"])
    due = date.fromisoformat(document["due"])
    if document["state"] in ("open", "breached"):
        document["state"] = "breached" if today > due else "open"
    case_id = None if row["case_id"] is None else str(row["case_id"])
    return {"lscb": row["lscb"], "case_id": case_id, "recommendation_id": None, **document}


async def _write_case(conn: Any, state: CaseState) -> None:
    members = state.member_ids()
    for obligation in state.obligations.values():
        await conn.execute(
            f"""INSERT INTO {TABLE} (obligation_id, case_id, lscb, review_id, kind, ref, due, state, met_on,
                    answering_roles, member_ids, next_fire, document, subject_id, recommendation_id, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, now())
                ON CONFLICT (obligation_id) DO UPDATE SET due = $7, state = $8, met_on = $9, answering_roles = $10,
                    member_ids = $11, next_fire = $12, document = $13, review_id = $4, updated_at = now()""",
            obligation.obligation_id,
            state.case_id if obligation.recommendation_id is None else None,
            state.lscb,
            obligation.review_id,
            obligation.kind,
            obligation.ref,
            obligation.due,
            obligation.state,
            obligation.met_on,
            obligation.answering_roles,
            members,
            next_fire(obligation),
            json.dumps(obligation.view(obligation.due)),
            state.case_id,
            obligation.recommendation_id,
        )
