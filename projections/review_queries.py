"""Read review progress: a review's summary, a board's reviews, and the regional review pipeline.

What depends on today (a stage overdue against the plan, progress against T6) is computed here, at read
time, from the dates the `reviews` row keeps; the row itself never changes with the calendar.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

import asyncpg

from projections.reviews import LIVE
from projections.schema import SCHEMA

RowLike = Mapping[str, Any] | asyncpg.Record
"""A `reviews` row as asyncpg returns it, or a `ReviewRow` as a dict (unit tests)."""


def stage_overdue(stage: Mapping[str, Any], live: bool, today: date) -> bool:
    """Overdue against the plan, as orchestration judges it: the review still runs, the stage is not held and
    its due date (the one it was moved to, if moved; none while moved without a date) is past."""
    due = stage.get("due")
    return live and due is not None and date.fromisoformat(due) < today and stage.get("held_on") is None


def t6_progress(
    due: date | None, started_on: date | None, closed_on: date | None, live: bool, today: date
) -> dict[str, Any] | None:
    """Progress against T6 (an SCR aims to complete within six months of initiation; rules.md section 2).

    The clock runs from the review plan's start (the Chair's decision) to closure, or to today while the review
    runs. None for a review without a T6 deadline (before the decision, MACRs, IARs).
    """
    if due is None:
        return None
    end = closed_on or today
    overdue = closed_on > due if closed_on is not None else live and today > due
    return {
        "due": due.isoformat(),
        "started_on": None if started_on is None else started_on.isoformat(),
        "days_in_period": None if started_on is None else (due - started_on).days,
        "days_elapsed": None if started_on is None else max(0, (end - started_on).days),
        "days_remaining": max(0, (due - today).days) if live else None,
        "days_overdue": max(0, (end - due).days) if overdue else 0,
        "completed_on": None if closed_on is None else closed_on.isoformat(),
        "overdue": overdue,
    }


def review_summary(row: RowLike, today: date) -> dict[str, Any]:
    """One review as every view shows it."""
    live = row["status"] in LIVE
    stages = [{**stage, "overdue": stage_overdue(stage, live, today)} for stage in _decoded(row["stages"])]
    return {
        "review_id": str(row["review_id"]),
        "case_id": str(row["case_id"]),
        "lscb": row["lscb"],
        "review_kind": row["review_kind"],
        "method": row["method"],
        "phase": row["phase"],
        "regime": row["regime"],
        "plan_id": row["plan_id"],
        "plan_version": row["plan_version"],
        "status": row["status"],
        "opened_on": _iso(row["opened_on"]),
        "started_on": _iso(row["started_on"]),
        "decision_event_id": None if row["decision_event_id"] is None else str(row["decision_event_id"]),
        "current_stage": row["current_stage"],
        "overdue_stages": [stage["stage_id"] for stage in stages if stage["overdue"]],
        "stages": stages,
        "t6": t6_progress(row["t6_due"], row["started_on"], row["closed_on"], live, today),
        "pre_decision_due": _iso(row["pre_decision_due"]),
        "published_on": _iso(row["published_on"]),
        "available_until": _iso(row["available_until"]),
        "closed_on": _iso(row["closed_on"]),
        "publication_hold": row["publication_hold"],
        "members": _decoded(row["members"]),
        "chronology": {"entries": row["chronology_entries"], "significant": row["significant_entries"]},
        "parallel_processes": _decoded(row["parallel_processes"]),
        "learning_summary_reference_code": row["learning_summary_ref"],
    }


def member_review(row: RowLike | None, today: date, member: str | None) -> dict[str, Any] | None:
    """A case's `reviews` row (or None) as its summary; with `member`, None unless that account is a member."""
    if row is None or (member is not None and member not in row["member_ids"]):
        return None
    return review_summary(row, today)


async def board_reviews(
    pool: asyncpg.Pool, lscb: str, today: date, *, member: str | None = None, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    """The board's reviews, newest first; with `member`, only the reviews that account is a member of."""
    where = "lscb = $1 AND ($2::text IS NULL OR $2 = ANY(member_ids))"
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # One snapshot for the page and the total, so they agree while the projector writes.
        rows = await conn.fetch(
            f"SELECT * FROM {SCHEMA}.reviews WHERE {where} ORDER BY opened_on DESC, case_id LIMIT $3 OFFSET $4",
            lscb,
            member,
            limit,
            offset,
        )
        total = await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.reviews WHERE {where}", lscb, member)
    return {
        "lscb": lscb,
        "as_of": today.isoformat(),
        "total": total,
        "limit": limit,
        "offset": offset,
        "reviews": [review_summary(row, today) for row in rows],
    }


async def region_reviews(pool: asyncpg.Pool, today: date) -> dict[str, Any]:
    """The review pipeline by board: aggregate counts only (no case or review ids, no members)."""
    rows = await pool.fetch(
        f"SELECT lscb, status, review_kind, current_stage, stages, t6_due, started_on, closed_on "
        f"FROM {SCHEMA}.reviews ORDER BY lscb"
    )
    boards: dict[str, dict[str, Any]] = {}
    for row in rows:
        board = boards.setdefault(row["lscb"], _pipeline())
        live = row["status"] in LIVE
        overdue = sum(stage_overdue(stage, live, today) for stage in _decoded(row["stages"]))
        t6 = t6_progress(row["t6_due"], row["started_on"], row["closed_on"], live, today)
        board["reviews"] += 1
        _count(board["by_status"], row["status"])
        _count(board["by_review_kind"], row["review_kind"] or "pending")
        if row["current_stage"] is not None:
            _count(board["by_current_stage"], row["current_stage"])
        board["reviews_with_overdue_stages"] += overdue > 0
        board["overdue_stages"] += overdue
        board["t6_overdue"] += t6 is not None and t6["overdue"] and live
        board["t6_closed_late"] += t6 is not None and t6["overdue"] and not live
    totals = _pipeline()
    for board in boards.values():
        for key, value in board.items():
            if isinstance(value, dict):
                for name, n in value.items():
                    _count(totals[key], name, n)
            else:
                totals[key] += value
    return {"as_of": today.isoformat(), **totals, "boards": boards}


def _pipeline() -> dict[str, Any]:
    return {
        "reviews": 0,
        "by_status": {},
        "by_review_kind": {},
        "by_current_stage": {},
        "reviews_with_overdue_stages": 0,
        "overdue_stages": 0,
        "t6_overdue": 0,
        "t6_closed_late": 0,
    }


def _count(counts: dict[str, int], key: str, n: int = 1) -> None:
    counts[key] = counts.get(key, 0) + n


def _decoded(value: Any) -> Any:
    """jsonb columns come back as text from asyncpg; a `ReviewRow` holds them decoded already."""
    return json.loads(value) if isinstance(value, str) else value


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
