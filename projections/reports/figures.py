"""The annual report's figures, counted from the read model for one board or every board over a period.

Each figure counts events in the period of their business date (rules.md section 8):

* notifications received: by the date the board was notified (`notified_date`), with the recommendation that
  stands for each (the latest one recorded, a repeat-learning re-recommendation included);
* Chair's decisions: every decision by its `decided_on`, the business date its `occurred_at` stands for,
  superseded ones too (the history keeps both);
* SCRs initiated (decisions to initiate) and published (publication of a review whose kind is SCR);
* timeliness: each T1 and T2 deadline met in the period, in time or late, and each one due in the period
  still unmet when the period ended (or today, for a period still running);
* reviews: those in progress at the period's end and their stages overdue then, folded from the review events
  dated up to that day, so a past year's report says what was true at its end.

No case or review id leaves this module: every figure is a count.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from events.registry import parse_event
from projections.reports.periods import Period
from projections.review_queries import stage_overdue
from projections.reviews import LIVE, fold_review
from projections.schema import SCHEMA

TIMELINESS = {"T1": "chair_decision_due", "T2": "panel_notice_due"}
"""The obligations the report measures (rules.md section 2) and the deadline each is recorded as."""

DECISION = "decisioning.chair_decision_recorded"
PUBLISHED = "orchestration.review_published"
CLOSED = "orchestration.review_closed"
OPENED = "orchestration.review_process_opened"


def empty_figures() -> dict[str, Any]:
    return {
        "notifications_received": 0,
        "recommendations_by_type": {},
        "chair_decisions": {"total": 0, "by_type": {}, "departing_from_recommendation": 0, "superseding": 0},
        "scrs": {"initiated": 0, "published": 0},
        "timeliness": {
            rule: {"deadline": name, "met_in_time": 0, "met_late": 0, "unmet_overdue": 0}
            for rule, name in TIMELINESS.items()
        },
        "reviews": {
            "in_progress": 0,
            "in_progress_by_kind": {},
            "with_overdue_stages": 0,
            "overdue_stages": 0,
            "overdue_by_stage": {},
            "closed": 0,
        },
    }


async def figures_by_board(
    pool: asyncpg.Pool, period: Period, today: date, lscb: str | None = None
) -> dict[str, dict[str, Any]]:
    """Every figure per board (only `lscb` when given; None: every board that has any), in one snapshot."""
    boards: dict[str, dict[str, Any]] = {}

    def board(code: str) -> dict[str, Any]:
        return boards.setdefault(code, empty_figures())

    as_of = period.as_of(today)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        for row in await _recommendations(conn, period, lscb):
            figures = board(row["lscb"])
            figures["notifications_received"] += row["n"]
            _add(figures["recommendations_by_type"], row["review_type"], row["n"])
        for row in await _decisions(conn, period, lscb):
            decisions = board(row["lscb"])["chair_decisions"]
            decisions["total"] += row["n"]
            _add(decisions["by_type"], row["decision"], row["n"])
            decisions["departing_from_recommendation"] += row["departing"]
            decisions["superseding"] += row["superseding"]
            if row["decision"] == "initiate_scr":
                board(row["lscb"])["scrs"]["initiated"] += row["n"]
        for row in await _review_ends(conn, period, lscb):
            figures = board(row["lscb"])
            if row["event_type"] == PUBLISHED and row["review_kind"] == "scr":
                figures["scrs"]["published"] += row["n"]
            if row["event_type"] == CLOSED:
                figures["reviews"]["closed"] += row["n"]
        for row in await _timeliness(conn, period, as_of, lscb):
            figures = board(row["lscb"])
            for rule, name in TIMELINESS.items():
                if row["name"] == name:
                    for key in ("met_in_time", "met_late", "unmet_overdue"):
                        figures["timeliness"][rule][key] += row[key]
        await _reviews_at(conn, as_of, lscb, board)
    return dict(sorted(boards.items()))


def total_figures(boards: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The region's figures: the boards' summed."""
    total = empty_figures()
    for figures in boards.values():
        _sum_into(total, figures)
    return total


async def _recommendations(conn: Any, period: Period, lscb: str | None) -> Sequence[asyncpg.Record]:
    return await conn.fetch(  # type: ignore[no-any-return]
        f"SELECT lscb, coalesce(review_type, 'pending') AS review_type, count(*) AS n FROM {SCHEMA}.cases "
        "WHERE notified_date BETWEEN $1 AND $2 AND ($3::text IS NULL OR lscb = $3) GROUP BY 1, 2",
        period.start,
        period.end,
        lscb,
    )


async def _decisions(conn: Any, period: Period, lscb: str | None) -> Sequence[asyncpg.Record]:
    return await conn.fetch(  # type: ignore[no-any-return]
        "SELECT lscb, document->'payload'->>'decision' AS decision, count(*) AS n, "
        "count(*) FILTER (WHERE (document->'payload'->>'departs_from_recommendation')::boolean) AS departing, "
        "count(*) FILTER (WHERE document->'payload'->>'supersedes' IS NOT NULL) AS superseding "
        f"FROM {SCHEMA}.case_events WHERE event_type = $1 "
        "AND (document->'payload'->>'decided_on')::date BETWEEN $2 AND $3 "
        "AND ($4::text IS NULL OR lscb = $4) GROUP BY 1, 2",
        DECISION,
        period.start,
        period.end,
        lscb,
    )


async def _review_ends(conn: Any, period: Period, lscb: str | None) -> Sequence[asyncpg.Record]:
    """Publications and closures in the period, by the review's kind."""
    return await conn.fetch(  # type: ignore[no-any-return]
        f"SELECT e.lscb, e.event_type, r.review_kind, count(*) AS n FROM {SCHEMA}.case_events e "
        f"LEFT JOIN {SCHEMA}.reviews r ON r.case_id = e.case_id "
        "WHERE e.event_type = ANY($1::text[]) AND e.occurred_at >= $2 AND e.occurred_at < $3 "
        "AND ($4::text IS NULL OR e.lscb = $4) GROUP BY 1, 2, 3",
        [PUBLISHED, CLOSED],
        period.start_instant,
        period.end_instant,
        lscb,
    )


async def _timeliness(conn: Any, period: Period, as_of: date, lscb: str | None) -> Sequence[asyncpg.Record]:
    return await conn.fetch(  # type: ignore[no-any-return]
        "SELECT lscb, name, "
        "count(*) FILTER (WHERE met_on BETWEEN $1 AND $2 AND met_on <= due) AS met_in_time, "
        "count(*) FILTER (WHERE met_on BETWEEN $1 AND $2 AND met_on > due) AS met_late, "
        "count(*) FILTER (WHERE due BETWEEN $1 AND $2 AND due < $3 AND (met_on IS NULL OR met_on > $3)) "
        "AS unmet_overdue "
        f"FROM {SCHEMA}.deadlines WHERE name = ANY($4::text[]) AND ($5::text IS NULL OR lscb = $5) GROUP BY 1, 2",
        period.start,
        period.end,
        as_of,
        list(TIMELINESS.values()),
        lscb,
    )


async def _reviews_at(conn: Any, as_of: date, lscb: str | None, board: Any) -> None:
    """Reviews in progress on `as_of` and their overdue stages, from the review events dated up to that day.

    The opening of a process is kept whatever its date (it is dated when the recommendation was recorded, which
    for a notification recorded late is after the plan's own dates); a review counts once a plan of it started
    by `as_of`."""
    cutoff = Period(as_of, as_of, "").end_instant
    rows = await conn.fetch(
        f"SELECT case_id, document FROM {SCHEMA}.case_events WHERE event_type LIKE 'orchestration.%' "
        "AND (occurred_at < $1 OR event_type = $3) AND ($2::text IS NULL OR lscb = $2) "
        "ORDER BY case_id, recorded_at, arrival",
        cutoff,
        lscb,
        OPENED,
    )
    for _, group in itertools.groupby(rows, key=lambda r: r["case_id"]):
        review = fold_review(parse_event(r["document"]) for r in group)
        if review is None or review.plan_id is None or review.status not in LIVE:
            continue
        figures = board(review.lscb)["reviews"]
        figures["in_progress"] += 1
        _add(figures["in_progress_by_kind"], review.review_kind or "pending")
        overdue = [stage["stage_id"] for stage in review.stages if stage_overdue(stage, True, as_of)]
        figures["with_overdue_stages"] += bool(overdue)
        figures["overdue_stages"] += len(overdue)
        for stage_id in overdue:
            _add(figures["overdue_by_stage"], stage_id)


def _add(counts: dict[str, int], key: str, n: int = 1) -> None:
    counts[key] = counts.get(key, 0) + n


def _sum_into(total: dict[str, Any], figures: dict[str, Any]) -> None:
    for key, value in figures.items():
        if isinstance(value, dict):
            _sum_into(total.setdefault(key, {}), value)
        elif isinstance(value, int) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value
        else:
            total[key] = value
