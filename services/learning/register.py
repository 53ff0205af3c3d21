"""The learning register: the tables the register, the search and the figures read, kept from the service's
own log (an in-process follower in both runtimes), each batch in one transaction with its position.

The texts are read from the service's erasable store as each source is indexed; the full-text index is a
generated column of the same row, so erasing a source's texts (`erase_source`) empties the index entry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from events.envelope import EventEnvelope
from events.learning import (
    ActionDueSet,
    ActionStatusChanged,
    ImpactEvidenced,
    ReauditScheduled,
    RecommendationTracked,
    SourceRecorded,
)
from lif.delivery.delivered import Delivered
from services.learning.documents import searchable_text
from services.learning.themes import theme_key

PERSONAL = '"lif_learning_personal"'


class LearningRegister:
    """A parking consumer of the learning service's own log (lif.delivery.parking)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def position(self, position_key: str) -> int:
        value = await self.pool.fetchval(
            f"SELECT position FROM {PERSONAL}.register_positions WHERE position_key = $1", position_key
        )
        return int(value or 0)

    async def skip(self, position_key: str, position: int) -> None:
        await _record_position(self.pool, position_key, position)

    async def handle(self, delivered: Delivered) -> None:
        await self.handle_batch([delivered])

    async def handle_batch(self, batch: Sequence[Delivered]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            last: dict[str, int] = {}
            for delivered in batch:
                await _apply(conn, delivered.event)
                last[delivered.position_key] = max(last.get(delivered.position_key, 0), delivered.position)
            for key, position in last.items():
                await _record_position(conn, key, position)


async def _record_position(conn: Any, key: str, position: int) -> None:
    await conn.execute(
        f"INSERT INTO {PERSONAL}.register_positions (position_key, position) VALUES ($1, $2) "
        f"ON CONFLICT (position_key) DO UPDATE SET position = GREATEST({PERSONAL}.register_positions.position, "
        "EXCLUDED.position)",
        key,
        position,
    )


async def _text(conn: Any, document_id: UUID, lscb: str) -> str | None:
    value: str | None = await conn.fetchval(
        f"SELECT body FROM {PERSONAL}.details WHERE id = $1 AND lscb = $2 AND erased_at IS NULL", document_id, lscb
    )
    return value


async def _apply(conn: Any, event: EventEnvelope) -> None:
    """Upserts only: applying an event twice leaves the same rows."""
    if isinstance(event, SourceRecorded):
        p = event.payload
        document = None
        if p.learning is not None:
            text = await _text(conn, p.learning.document_id, event.lscb)
            document = None if text is None else json.loads(text)
        await conn.execute(
            f"INSERT INTO {PERSONAL}.sources (source_id, lscb, source_kind, review_type, on_date, incident_month, "
            "reference, case_id, review_id, themes, tags, mapped_tags, document, title, findings, body) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) "
            "ON CONFLICT (source_id) DO NOTHING",
            p.source_id,
            event.lscb,
            p.source_kind,
            p.review_type,
            p.on,
            p.incident_month,
            p.reference,
            event.case_id if p.review_id is not None else None,
            p.review_id,
            [theme_key(t.typology, t.code) for t in p.themes],
            json.dumps([t.model_dump() for t in p.themes]),
            json.dumps([t.model_dump() for t in p.mapped_themes]),
            None if document is None else json.dumps(document),
            None if document is None else document.get("title"),
            None if document is None else document.get("findings"),
            None if document is None else searchable_text(document),
        )
    elif isinstance(event, RecommendationTracked):
        r = event.payload
        await conn.execute(
            f"INSERT INTO {PERSONAL}.recommendations (recommendation_id, source_id, lscb, scope, agency, themes, "
            "tags, on_date, text_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
            "ON CONFLICT (recommendation_id) DO NOTHING",
            r.recommendation_id,
            r.source_id,
            event.lscb,
            r.scope,
            r.agency,
            [theme_key(t.typology, t.code) for t in r.themes],
            json.dumps([t.model_dump() for t in r.themes]),
            event.occurred_at.date(),
            r.text.document_id,
        )
    elif isinstance(event, ActionDueSet):
        a = event.payload
        await conn.execute(
            f"INSERT INTO {PERSONAL}.actions (action_id, recommendation_id, lscb, owning_agency, due, description_id) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (action_id) DO UPDATE SET due = EXCLUDED.due",
            a.action_id,
            a.recommendation_id,
            event.lscb,
            a.owning_agency,
            a.due,
            a.description.document_id,
        )
    elif isinstance(event, ActionStatusChanged):
        await conn.execute(
            f"UPDATE {PERSONAL}.actions SET status = $2 WHERE action_id = $1",
            event.payload.action_id,
            event.payload.status,
        )
    elif isinstance(event, ImpactEvidenced):
        e = event.payload
        await conn.execute(
            f"INSERT INTO {PERSONAL}.impact_evidence (evidence_id, recommendation_id, lscb, audited_on, result, "
            "finding_id) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (evidence_id) DO NOTHING",
            e.evidence_id,
            e.recommendation_id,
            event.lscb,
            e.audited_on,
            e.result,
            e.finding.document_id,
        )
        if e.reaudit_id is not None:
            await conn.execute(
                f"UPDATE {PERSONAL}.reaudits SET answered_by = $2 WHERE reaudit_id = $1", e.reaudit_id, e.evidence_id
            )
    elif isinstance(event, ReauditScheduled):
        s = event.payload
        await conn.execute(
            f"INSERT INTO {PERSONAL}.reaudits (reaudit_id, recommendation_id, lscb, due) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (reaudit_id) DO NOTHING",
            s.reaudit_id,
            s.recommendation_id,
            event.lscb,
            s.due,
        )


async def erase_source(pool: asyncpg.Pool, source_id: UUID) -> bool:
    """Erase every text of a source (its learning, recommendations, actions, findings) and its index entry,
    in one transaction; the events keep their facts and hashes. False when there is no such source."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            f"SELECT lscb, coalesce(case_id, source_id) AS owner FROM {PERSONAL}.sources WHERE source_id = $1",
            source_id,
        )
        if row is None:
            return False
        await conn.execute(
            f"UPDATE {PERSONAL}.details SET body = NULL, erased_at = now() WHERE case_id = $1 AND lscb = $2 "
            "AND erased_at IS NULL",
            row["owner"],
            row["lscb"],
        )
        await conn.execute(
            f"UPDATE {PERSONAL}.sources SET document = NULL, title = NULL, findings = NULL, body = NULL, "
            "erased_at = now() WHERE source_id = $1",
            source_id,
        )
    return True
