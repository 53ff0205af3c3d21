"""What the register, the search, the figures and the report inputs read, and who sees what of it.

A board sees its own sources in full (case and review ids, every Appendix B field). Everyone else who may
read collated learning sees every board's learning without case identifiers, as lif.learning_view says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from lif.crosswalk import mapped_codes
from lif.learning_view import board_name, outside_view, sees_in_full
from services.learning.register import PERSONAL
from services.learning.themes import theme_key

REGISTER_COLUMNS = (
    "source_id, lscb, source_kind, review_type, on_date, incident_month, reference, case_id, review_id, tags, "
    "document, title, findings, erased_at"
)


@dataclass(frozen=True)
class Filters:
    lscb: str | None = None
    review_type: str | None = None
    source_kind: str | None = None
    typology: str | None = None
    code: str | None = None
    period_from: date | None = None
    period_to: date | None = None


def entry(row: asyncpg.Record, viewer_board: str | None) -> dict[str, Any]:
    """One register entry: in full for a reader of the source's board, else as lif.learning_view shows a
    source to a reader outside its board."""
    found: dict[str, Any] = {
        "source_id": str(row["source_id"]),
        "source_kind": row["source_kind"],
        "lscb": row["lscb"],
        "board": board_name(row["lscb"]),
        "review_type": row["review_type"],
        "on": row["on_date"].isoformat(),
        "incident_month": row["incident_month"],
        "themes": json.loads(row["tags"]),
        "title": row["title"],
        "findings": row["findings"],
        "learning": None if row["document"] is None else json.loads(row["document"]),
        "erased": row["erased_at"] is not None,
        "reference": row["reference"],
        "case_id": None if row["case_id"] is None else str(row["case_id"]),
        "review_id": None if row["review_id"] is None else str(row["review_id"]),
    }
    return found if sees_in_full(viewer_board, row["lscb"]) else outside_view(found)


def theme_match(typology: str, code: str) -> tuple[list[str], dict[str, str]]:
    """The index keys a search by `code` of `typology` matches: its own, and through each crosswalk."""
    direct = [theme_key(typology, code)]
    through = {theme_key(t, c): ref for t, c, ref in mapped_codes(typology, code)}
    return direct, through


def _where(filters: Filters, args: list[Any]) -> list[str]:
    clauses: list[str] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if filters.lscb:
        clauses.append(f"lscb = {arg(filters.lscb)}")
    if filters.review_type:
        clauses.append(f"review_type = {arg(filters.review_type)}")
    if filters.source_kind:
        clauses.append(f"source_kind = {arg(filters.source_kind)}")
    if filters.period_from:
        clauses.append(f"on_date >= {arg(filters.period_from)}")
    if filters.period_to:
        clauses.append(f"on_date <= {arg(filters.period_to)}")
    if filters.typology and filters.code:
        direct, through = theme_match(filters.typology, filters.code)
        clauses.append(f"themes && {arg(direct + list(through))}::text[]")
    return clauses


def _matched_by(row_themes: list[str], filters: Filters) -> dict[str, Any] | None:
    if not (filters.typology and filters.code):
        return None
    direct, through = theme_match(filters.typology, filters.code)
    if set(direct) & set(row_themes):
        return {"how": "direct", "themes": direct}
    via = sorted(set(through) & set(row_themes))
    return {"how": "crosswalk", "themes": via, "crosswalks": sorted({through[k] for k in via})}


async def register(
    pool: asyncpg.Pool, viewer_board: str | None, filters: Filters, limit: int, offset: int
) -> dict[str, Any]:
    args: list[Any] = []
    clauses = _where(filters, args)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    total = await pool.fetchval(f"SELECT count(*) FROM {PERSONAL}.sources {where}", *args)
    rows = await pool.fetch(
        f"SELECT {REGISTER_COLUMNS}, themes FROM {PERSONAL}.sources {where} "
        f"ORDER BY on_date DESC, source_id LIMIT {int(limit)} OFFSET {int(offset)}",
        *args,
    )
    items = []
    for row in rows:
        item = entry(row, viewer_board)
        if (matched := _matched_by(list(row["themes"]), filters)) is not None:
            item["matched_by"] = matched
        items.append(item)
    return {"sources": items, "total": int(total), "limit": limit, "offset": offset}


async def search(
    pool: asyncpg.Pool, viewer_board: str | None, words: str | None, filters: Filters, limit: int, offset: int
) -> dict[str, Any]:
    """Ranked full-text search (English stemming, `websearch_to_tsquery`) with highlighted snippets, combined
    with the filters; without words, the filtered register, newest first."""
    if not words or not words.strip():
        return await register(pool, viewer_board, filters, limit, offset) | {"query": None}
    args: list[Any] = [words]
    clauses = ["search @@ q", *_where(filters, args)]
    where = " AND ".join(clauses)
    # One pass over the matches ranks them and counts them (the window), then the page gets its snippets.
    # The planner prices `@@` on a row as cheap, but each row's vector must be read and decompressed first:
    # with another filter it may prefer reading every row (3.7 s on 100,000 sources) over the GIN index
    # (0.27 s). Matching text always goes through the index, so this transaction does not scan sequentially.
    columns = ", ".join("s." + c.strip() for c in REGISTER_COLUMNS.split(","))
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        rows = await conn.fetch(
            f"WITH hits AS (SELECT source_id, on_date, ts_rank_cd(search, q) AS rank, count(*) OVER () AS total "
            f"FROM {PERSONAL}.sources, websearch_to_tsquery('english', $1) q WHERE {where} "
            f"ORDER BY rank DESC, on_date DESC, source_id LIMIT {int(limit)} OFFSET {int(offset)}) "
            f"SELECT {columns}, s.themes, hits.rank, hits.total, "
            "ts_headline('english', coalesce(s.title, '') || ' ' || coalesce(s.findings, '') || ' ' || "
            "coalesce(s.body, ''), websearch_to_tsquery('english', $1), "
            "'StartSel=<mark>, StopSel=</mark>, MaxFragments=2, MaxWords=25, MinWords=8') AS snippet "
            f"FROM hits JOIN {PERSONAL}.sources s USING (source_id) "
            "ORDER BY hits.rank DESC, s.on_date DESC, s.source_id",
            *args,
        )
    if rows:
        total = rows[0]["total"]
    elif offset == 0:
        total = 0
    else:  # a page past the end: count the matches alone
        total = await pool.fetchval(
            f"SELECT count(*) FROM {PERSONAL}.sources, websearch_to_tsquery('english', $1) q WHERE {where}", *args
        )
    items = []
    for row in rows:
        item = entry(row, viewer_board) | {"rank": float(row["rank"]), "snippet": row["snippet"]}
        if (matched := _matched_by(list(row["themes"]), filters)) is not None:
            item["matched_by"] = matched
        items.append(item)
    return {"query": words, "sources": items, "total": int(total), "limit": limit, "offset": offset}


async def source(pool: asyncpg.Pool, source_id: UUID) -> asyncpg.Record | None:
    return await pool.fetchrow(f"SELECT {REGISTER_COLUMNS} FROM {PERSONAL}.sources WHERE source_id = $1", source_id)


async def texts(pool: asyncpg.Pool, lscb: str, document_ids: list[UUID]) -> dict[UUID, str | None]:
    """The board's texts of the erasable store by document id; None for one erased (or never stored)."""
    rows = await pool.fetch(
        f"SELECT id, body FROM {PERSONAL}.details WHERE id = ANY($1::uuid[]) AND lscb = $2 AND erased_at IS NULL",
        document_ids,
        lscb,
    )
    found: dict[UUID, str | None] = dict.fromkeys(document_ids)
    found.update({row["id"]: row["body"] for row in rows})
    return found


_ACTION_COUNTS = (
    "SELECT recommendation_id, count(*) AS total, count(*) FILTER (WHERE status = 'done') AS done, "
    "count(*) FILTER (WHERE status IN ('open', 'in_progress') AND due < $1) AS overdue "
    f"FROM {PERSONAL}.actions GROUP BY recommendation_id"
)


async def recommendations(
    pool: asyncpg.Pool, today: date, filters: Filters, viewer_board: str | None
) -> list[dict[str, Any]]:
    """Tracked recommendations of the sources the filters select, with their actions' and impact's state."""
    args: list[Any] = [today]
    clauses = [c.replace("lscb", "s.lscb").replace("on_date", "s.on_date").replace("themes", "r.themes")
               .replace("review_type", "s.review_type").replace("source_kind", "s.source_kind")
               for c in _where(filters, args)]
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await pool.fetch(
        f"WITH counts AS ({_ACTION_COUNTS}) "
        "SELECT r.recommendation_id, r.source_id, r.lscb, r.scope, r.agency, r.tags, "
        "coalesce(c.total, 0) AS total, coalesce(c.done, 0) AS done, coalesce(c.overdue, 0) AS overdue, "
        f"EXISTS (SELECT 1 FROM {PERSONAL}.impact_evidence e WHERE e.recommendation_id = r.recommendation_id "
        "AND e.result = 'evidenced') AS evidenced, d.body AS text "
        f"FROM {PERSONAL}.recommendations r JOIN {PERSONAL}.sources s USING (source_id) "
        "LEFT JOIN counts c USING (recommendation_id) "
        f"LEFT JOIN {PERSONAL}.details d ON d.id = r.text_id AND d.erased_at IS NULL "
        f"{where} ORDER BY s.on_date, r.recommendation_id",
        *args,
    )
    return [
        {
            "recommendation_id": str(row["recommendation_id"]),
            "source_id": str(row["source_id"]),
            "lscb": row["lscb"],
            "scope": row["scope"],
            "agency": row["agency"],
            "themes": json.loads(row["tags"]),
            "text": row["text"],
            "actions": {"total": int(row["total"]), "done": int(row["done"]), "overdue": int(row["overdue"])},
            "impact_evidenced": bool(row["evidenced"]),
        }
        for row in rows
    ]


async def theme_figures(pool: asyncpg.Pool, today: date, filters: Filters) -> list[dict[str, Any]]:
    """Per theme (typology and code): sources, recommendations made, actions overdue, impact evidenced."""
    args: list[Any] = [today]
    clauses = [c.replace("lscb", "s.lscb").replace("on_date", "s.on_date") for c in _where(filters, args)]
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await pool.fetch(
        f"WITH counts AS ({_ACTION_COUNTS}), "
        f"themed AS (SELECT unnest(s.themes) AS theme, s.source_id FROM {PERSONAL}.sources s {where}) "
        "SELECT t.theme, count(DISTINCT t.source_id) AS sources, count(DISTINCT r.recommendation_id) AS made, "
        "coalesce(sum(c.overdue), 0) AS overdue, "
        "count(DISTINCT r.recommendation_id) FILTER (WHERE EXISTS (SELECT 1 FROM "
        f"{PERSONAL}.impact_evidence e WHERE e.recommendation_id = r.recommendation_id AND e.result = 'evidenced')) "
        "AS evidenced "
        f"FROM themed t LEFT JOIN {PERSONAL}.recommendations r ON r.source_id = t.source_id "
        "LEFT JOIN counts c ON c.recommendation_id = r.recommendation_id "
        "GROUP BY t.theme ORDER BY t.theme",
        *args,
    )
    figures = []
    for row in rows:
        typology, _, code = row["theme"].partition(":")
        figures.append(
            {
                "typology": typology,
                "code": code,
                "sources": int(row["sources"]),
                "recommendations_made": int(row["made"]),
                "actions_overdue": int(row["overdue"]),
                "impact_evidenced": int(row["evidenced"]),
            }
        )
    return figures
