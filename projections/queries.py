"""Read the case register and the regional summary."""

from __future__ import annotations

import functools
import json
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from lif.auth import CaseReads, CaseSection
from lif.learning_view import recommendation_for
from projections.case_decisioning import CASE_LEVEL, breached
from projections.projector import decode
from projections.review_queries import member_review
from projections.schema import SCHEMA

DUE_SOON_DAYS = 7


# Open and past due, or met on a business date after the due date.
BREACHED_SQL = "((met_at IS NULL AND met_on IS NULL AND due < $1) OR met_on > due)"


def in_reach(reads: CaseReads, first: int) -> tuple[str, list[Any]]:
    """The SQL condition (on `c.case_id`, `c.lscb`) keeping only the cases `reads` may see, and its arguments
    from `$first` on: the caller's boards, and for a reviewer the reviews they are a member of."""
    condition = (
        f"(${first}::text[] IS NULL OR c.lscb = ANY(${first}::text[])) AND (${first + 1}::text IS NULL OR EXISTS "
        f"(SELECT 1 FROM {SCHEMA}.reviews r WHERE r.case_id = c.case_id AND ${first + 1} = ANY(r.member_ids)))"
    )
    return condition, [None if reads.boards is None else sorted(reads.boards), reads.member]


def _recommendation(recommendation: dict[str, Any] | None, lscb: str) -> dict[str, Any] | None:
    """The case's recommendation as its board's readers see it: other boards' reviews without their codes."""
    return None if recommendation is None else recommendation_for(recommendation, lscb)


def _deadline(row: asyncpg.Record, today: date) -> dict[str, Any]:
    """`ref` tells deadlines of one name apart: null for the case's own, the decision's event id for T2."""
    return {
        "name": row["name"],
        "ref": None if row["ref"] == CASE_LEVEL else row["ref"],
        "due": row["due"].isoformat(),
        "met": row["met_at"] is not None or row["met_on"] is not None,
        "met_on": row["met_on"].isoformat() if row["met_on"] else None,
        "breached": breached(row["due"], row["met_at"], row["met_on"], today),
    }


async def get_case(pool: asyncpg.Pool, case_id: UUID, today: date, reads: CaseReads) -> dict[str, Any] | None:
    """The case view as `reads` may see it: None when the case is missing or outside its reach (the caller
    cannot tell which), and only the sections it may read (`events`, `review` are absent otherwise).

    One statement, so one round trip and one snapshot: the case, its deadlines, its review and its events
    agree while the projector writes."""
    reach, args = in_reach(reads, 2)
    review = reads.reads(CaseSection.REVIEW)
    events = reads.reads(CaseSection.EVENTS)
    row = await pool.fetchrow(_case_view_sql(reach, review=review, events=events), case_id, *args)
    if row is None:
        return None
    deadlines = [_deadline(d, today) for d in row["deadline_rows"]]
    view: dict[str, Any] = {
        **_case_summary(row),
        "notifying_agency": row["notifying_agency"],
        "source_system": row["source_system"],
        "child": decode(row["child"]),
        "facts": decode(row["facts"]),
        "recommendation": _recommendation(decode(row["recommendation"]), row["lscb"]),
        "referred_at": row["referred_at"].isoformat() if row["referred_at"] else None,
        "referred_on": row["referred_on"].isoformat() if row["referred_on"] else None,
        "lead_reviewers": decode(row["lead_reviewers"]),
        "panel_notices": decode(row["panel_notices"]),
        "learning_themes": decode(row["learning_themes"]),
        "deadlines": deadlines,
        "breaches": sum(d["breached"] for d in deadlines),
    }
    if review:
        view["review"] = member_review(row["review_row"], today, reads.member)
    if events:
        view["events"] = json.loads(row["event_documents"])
    return view


@functools.cache
def _case_view_sql(reach: str, *, review: bool, events: bool) -> str:
    """The case row with its deadlines (rows of `deadlines`), its review (a row of `reviews`, or null) and its
    events' documents (a JSON array in recorded order), each only when the caller reads it."""
    review_sql = f"(SELECT r FROM {SCHEMA}.reviews r WHERE r.case_id = c.case_id)" if review else "NULL"
    events_sql = (
        f"(SELECT coalesce(json_agg(e.document ORDER BY e.recorded_at, e.occurred_at, e.event_id), '[]') "
        f"FROM {SCHEMA}.case_events e WHERE e.case_id = c.case_id)"
        if events
        else "NULL"
    )
    return (
        f"SELECT c.*, ARRAY(SELECT d FROM {SCHEMA}.deadlines d WHERE d.case_id = c.case_id "
        f"ORDER BY d.due, d.name, d.ref) AS deadline_rows, {review_sql} AS review_row, "
        f"{events_sql} AS event_documents FROM {SCHEMA}.cases c WHERE c.case_id = $1 AND {reach}"
    )


def _case_summary(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "case_id": str(row["case_id"]),
        "lscb": row["lscb"],
        "opened_at": row["opened_at"].isoformat() if row["opened_at"] else None,
        "incident_date": row["incident_date"].isoformat() if row["incident_date"] else None,
        "notified_date": row["notified_date"].isoformat() if row["notified_date"] else None,
        "review_type": row["review_type"],
        "statutory_scr": row["statutory_scr"],
        "considered_for_scr": row["considered_for_scr"],
        "decision": decode(row["decision"]),
        "decisions_count": row["decisions_count"],
    }


async def list_cases(
    pool: asyncpg.Pool, lscb: str, today: date, reads: CaseReads, *, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    """The board's case register, newest first, as far as `reads` reaches (a reviewer: their reviews' cases)."""
    reach, args = in_reach(reads, 2)
    where = f"c.lscb = $1 AND {reach}"
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # One snapshot for the page, its deadlines and the total, so they agree while the projector writes.
        rows = await conn.fetch(
            f"SELECT * FROM {SCHEMA}.cases c WHERE {where} "
            "ORDER BY opened_at DESC NULLS LAST, case_id LIMIT $4 OFFSET $5",
            lscb,
            *args,
            limit,
            offset,
        )
        total = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.cases c WHERE {where}", lscb, *args)
        deadlines = await conn.fetch(
            f"SELECT * FROM {SCHEMA}.deadlines WHERE case_id = ANY($1::uuid[]) ORDER BY due, name, ref",
            [row["case_id"] for row in rows],
        )
    by_case: dict[UUID, list[dict[str, Any]]] = {}
    for d in deadlines:
        by_case.setdefault(d["case_id"], []).append(_deadline(d, today))
    return {
        "lscb": lscb,
        "total": total,
        "limit": limit,
        "offset": offset,
        "cases": [_listed(row, by_case.get(row["case_id"], [])) for row in rows],
    }


def _listed(row: asyncpg.Record, deadlines: list[dict[str, Any]]) -> dict[str, Any]:
    return {**_case_summary(row), "deadlines": deadlines, "breaches": sum(d["breached"] for d in deadlines)}


async def region_summary(pool: asyncpg.Pool, today: date) -> dict[str, Any]:
    """Aggregate figures only: counts by board and review type, and deadlines by state: open, breached (open
    past due, or met late), due soon, overdue (open past due), met in time and met late."""
    counts = await pool.fetch(
        f"SELECT lscb, coalesce(review_type, 'pending') AS review_type, count(*) AS n "
        f"FROM {SCHEMA}.cases GROUP BY 1, 2 ORDER BY 1, 2"
    )
    deadlines = await pool.fetch(
        f"SELECT lscb, name, "
        "count(*) FILTER (WHERE met_at IS NULL AND met_on IS NULL) AS open, "
        f"count(*) FILTER (WHERE {BREACHED_SQL}) AS breached, "
        "count(*) FILTER (WHERE met_at IS NULL AND met_on IS NULL AND due >= $1 AND due <= $2) AS due_soon, "
        "count(*) FILTER (WHERE met_at IS NULL AND met_on IS NULL AND due < $1) AS overdue, "
        "count(*) FILTER (WHERE (met_at IS NOT NULL OR met_on IS NOT NULL) AND NOT coalesce(met_on > due, false)) "
        "AS met_in_time, "
        "count(*) FILTER (WHERE met_on > due) AS met_late "
        f"FROM {SCHEMA}.deadlines GROUP BY 1, 2 ORDER BY 1, 2",
        today,
        today + timedelta(days=DUE_SOON_DAYS),
    )
    boards: dict[str, dict[str, Any]] = {}
    by_type: dict[str, int] = {}
    for row in counts:
        board = boards.setdefault(row["lscb"], _board())
        board["cases"] += row["n"]
        board["by_review_type"][row["review_type"]] = row["n"]
        by_type[row["review_type"]] = by_type.get(row["review_type"], 0) + row["n"]
    totals: dict[str, dict[str, int]] = {}
    for row in deadlines:
        board = boards.setdefault(row["lscb"], _board())
        board["breached_deadlines"] += row["breached"]
        figures = {
            "open": row["open"],
            "breached": row["breached"],
            f"due_within_{DUE_SOON_DAYS}_days": row["due_soon"],
            "overdue": row["overdue"],
            "met_in_time": row["met_in_time"],
            "met_late": row["met_late"],
        }
        board["deadlines"][row["name"]] = figures
        total = totals.setdefault(row["name"], dict.fromkeys(figures, 0))
        for key, value in figures.items():
            total[key] += value
    return {
        "as_of": today.isoformat(),
        "cases": sum(b["cases"] for b in boards.values()),
        "by_review_type": by_type,
        "deadlines": totals,
        "breached_deadlines": sum(b["breached_deadlines"] for b in boards.values()),
        "boards": boards,
    }


def _board() -> dict[str, Any]:
    return {"cases": 0, "by_review_type": {}, "deadlines": {}, "breached_deadlines": 0}
