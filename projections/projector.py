"""Apply contract events to the read model, exactly once per event id.

Each event is applied in one transaction together with its event id and its stream position, so
redelivery (same position) and republication (new position, same event id) change nothing. Events of
one case may arrive from different topics in any order; each writes only the columns it owns.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from events.decisioning import RecommendationRecorded
from events.envelope import EventEnvelope
from events.intake import IncidentReceived
from lif.delivery.delivered import Delivered
from projections.schema import SCHEMA


class CaseProjector:
    """The board case register and the regional figures, as one projector."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def position(self, position_key: str) -> int:
        value = await self.pool.fetchval(
            f"SELECT position FROM {SCHEMA}.positions WHERE position_key = $1",
            position_key,
        )
        return int(value or 0)

    async def handle(self, delivered: Delivered) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                f"INSERT INTO {SCHEMA}.positions (position_key, position) VALUES ($1, $2) "
                f"ON CONFLICT (position_key) DO UPDATE SET position = "
                f"GREATEST({SCHEMA}.positions.position, EXCLUDED.position)",
                delivered.position_key,
                delivered.position,
            )
            fresh = await conn.fetchval(
                f"INSERT INTO {SCHEMA}.processed_events (event_id) VALUES ($1) "
                "ON CONFLICT DO NOTHING RETURNING event_id",
                delivered.event.event_id,
            )
            if fresh is None:
                return
            await self._apply(conn, delivered.event)

    async def _apply(self, conn: Any, event: EventEnvelope) -> None:
        await conn.execute(
            f"INSERT INTO {SCHEMA}.case_events "
            "(event_id, case_id, lscb, event_type, occurred_at, recorded_at, document) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
            event.event_id,
            event.case_id,
            event.lscb,
            event.event_type,
            event.occurred_at,
            event.recorded_at,
            event.model_dump_json(),
        )
        if isinstance(event, IncidentReceived):
            await self._incident_received(conn, event)
        elif isinstance(event, RecommendationRecorded):
            await self._recommendation_recorded(conn, event)

    @staticmethod
    async def _incident_received(conn: Any, event: IncidentReceived) -> None:
        p = event.payload
        await conn.execute(
            f"INSERT INTO {SCHEMA}.cases (case_id, lscb, opened_at, incident_date, notified_date, "
            "notifying_agency, source_system, child, facts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb) "
            "ON CONFLICT (case_id) DO UPDATE SET opened_at = EXCLUDED.opened_at, "
            "incident_date = EXCLUDED.incident_date, notified_date = EXCLUDED.notified_date, "
            "notifying_agency = EXCLUDED.notifying_agency, source_system = EXCLUDED.source_system, "
            "child = EXCLUDED.child, facts = EXCLUDED.facts, updated_at = now()",
            event.case_id,
            event.lscb,
            event.recorded_at,
            p.incident_date,
            p.notified_date,
            p.notifying_agency,
            p.source_system,
            p.child.model_dump_json(),
            p.facts.model_dump_json(),
        )

    @staticmethod
    async def _recommendation_recorded(conn: Any, event: RecommendationRecorded) -> None:
        rec = event.payload.recommendation
        current: Any = await conn.fetchval(
            f"SELECT recommended_at FROM {SCHEMA}.cases WHERE case_id = $1",
            event.case_id,
        )
        if current is not None and current > event.recorded_at:
            return  # an older recommendation arriving late does not replace a newer one
        await conn.execute(
            f"INSERT INTO {SCHEMA}.cases (case_id, lscb, recommendation, review_type, statutory_scr, "
            "recommended_at) VALUES ($1, $2, $3::jsonb, $4, $5, $6) "
            "ON CONFLICT (case_id) DO UPDATE SET recommendation = EXCLUDED.recommendation, "
            "review_type = EXCLUDED.review_type, statutory_scr = EXCLUDED.statutory_scr, "
            "recommended_at = EXCLUDED.recommended_at, updated_at = now()",
            event.case_id,
            event.lscb,
            rec.model_dump_json(),
            rec.review_type,
            rec.statutory_scr,
            event.recorded_at,
        )
        await conn.execute(f"DELETE FROM {SCHEMA}.deadlines WHERE case_id = $1", event.case_id)
        await conn.executemany(
            f"INSERT INTO {SCHEMA}.deadlines (case_id, lscb, name, due) VALUES ($1, $2, $3, $4)",
            [(event.case_id, event.lscb, name, due) for name, due in rec.deadlines.items()],
        )


def decode(value: Any) -> Any:
    """jsonb columns come back as text from asyncpg."""
    return None if value is None else json.loads(value)
