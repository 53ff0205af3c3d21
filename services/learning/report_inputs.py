"""The learning inputs of an annual report or a regional digest, as another service asks for them.

One answer for both ways of asking (the internal route with a service credential, the in-process call of
the embedded runtime), and each read logged by learning as the owner of the texts: a row in
`lif_learning.report_input_reads` (reader, board or region, period, how much was read) and a log line.
A board's answer names its sources; the region's holds no case or review id.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import asyncpg

from lif.auth.principal import REGION
from services.learning import queries
from services.learning.queries import Filters

log = logging.getLogger(__name__)

READS_TABLE = '"lif_learning".report_input_reads'


async def report_inputs(
    pool: asyncpg.Pool, reader: str, lscb: str | None, period_from: date, period_to: date, today: date
) -> dict[str, Any]:
    """Sources of learning dated in the period (of board `lscb`, or of every board when None) and their
    tracked recommendations with actions (total, done, overdue on `today`) and whether impact is evidenced."""
    filters = Filters(lscb=lscb, period_from=period_from, period_to=period_to)
    listed = await queries.register(pool, lscb, filters, limit=100_000, offset=0)
    sources = [
        {
            "source_kind": s["source_kind"],
            "source_id": s["source_id"],
            "review_type": s["review_type"],
            "on": s["on"],
            "lscb": s["lscb"],
            "title": s["title"],
            "themes": s["themes"],
            "findings": s["findings"],
        }
        | ({"reference": s["reference"]} if lscb is not None else {})
        for s in listed["sources"]
    ]
    recommendations = [
        {
            "recommendation_id": r["recommendation_id"],
            "source_id": r["source_id"],
            "scope": r["scope"],
            "agency": r["agency"],
            "themes": r["themes"],
            "actions": r["actions"],
            "impact_evidenced": r["impact_evidenced"],
            "lscb": r["lscb"],
            "text": r["text"],
        }
        for r in await queries.recommendations(pool, today, filters, lscb)
    ]
    await pool.execute(
        f"INSERT INTO {READS_TABLE} (reader, scope, period_from, period_to, sources, recommendations) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        reader,
        lscb or REGION,
        period_from,
        period_to,
        len(sources),
        len(recommendations),
    )
    log.info(
        "learning report inputs of %s for %s to %s read by %s (%s sources, %s recommendations)",
        lscb or REGION,
        period_from,
        period_to,
        reader,
        len(sources),
        len(recommendations),
    )
    return {"sources": sources, "recommendations": recommendations}


async def report_input_reads(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"SELECT reader, scope, period_from, period_to, sources, recommendations FROM {READS_TABLE} ORDER BY id"
    )
    return [dict(row) for row in rows]
