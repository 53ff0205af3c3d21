"""Apply contract events to the read model, exactly once per event id.

Each event (or each batch of them, `handle_batch`) is applied in one transaction together with its event
ids and its streams' last positions, so redelivery (same position) and republication (new position, same
event id) change nothing. Events of one case may arrive from different topics in any order; each writes
only the columns it owns. The decisioning columns and deadlines are re-folded from the case's stored decisioning events
(`projections.case_decisioning`), so their value depends only on which events were applied. Likewise a
case's review row is re-folded from its stored orchestration events (`projections.reviews`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import asyncpg

from events.envelope import EventEnvelope
from events.intake import IncidentReceived
from events.registry import parse_event
from lif.delivery.delivered import Delivered
from projections.case_decisioning import CaseDecisioning, fold_case
from projections.reviews import ORCHESTRATION_EVENTS, refresh_review, refresh_reviews
from projections.schema import SCHEMA, jsonb_text

DECISIONING_EVENTS = "decisioning."
"""Event types the decisioning service publishes; each re-folds the case's decisioning columns."""


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

    async def skip(self, position_key: str, position: int) -> None:
        """Record a position with no effects (the event there was parked)."""
        await self._record_position(self.pool, position_key, position)

    @staticmethod
    async def _record_position(conn: Any, position_key: str, position: int) -> None:
        await conn.execute(_POSITION_UPSERT, position_key, position)

    async def handle(self, delivered: Delivered) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await self._record_position(conn, delivered.position_key, delivered.position)
            fresh = await conn.fetchval(
                f"INSERT INTO {SCHEMA}.processed_events (event_id) VALUES ($1) "
                "ON CONFLICT DO NOTHING RETURNING event_id",
                delivered.event.event_id,
            )
            if fresh is None:
                return
            await self._apply(conn, delivered.event)

    async def handle_batch(self, batch: Sequence[Delivered]) -> None:
        """Apply many events in one transaction, with the last position of each stream among them.

        The same effects as `handle` on each in turn: an event id seen before (here or earlier in the
        batch) changes nothing, and each case is re-folded once, after all its events are stored. Per-case
        writes go in case-id order, so two batches touching the same cases cannot deadlock each other.
        """
        last: dict[str, int] = {}
        unique: dict[UUID, EventEnvelope] = {}
        for delivered in batch:
            last[delivered.position_key] = max(last.get(delivered.position_key, 0), delivered.position)
            unique.setdefault(delivered.event.event_id, delivered.event)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.executemany(_POSITION_UPSERT, sorted(last.items()))
            rows = await conn.fetch(
                f"INSERT INTO {SCHEMA}.processed_events (event_id) SELECT unnest($1::uuid[]) "
                "ON CONFLICT DO NOTHING RETURNING event_id",
                list(unique),
            )
            fresh = {row["event_id"] for row in rows}
            events = [event for event in unique.values() if event.event_id in fresh]
            if not events:
                return
            await conn.executemany(_CASE_EVENT_INSERT, [case_event_row(event) for event in events])
            incidents = sorted((e for e in events if isinstance(e, IncidentReceived)), key=lambda e: e.case_id)
            if incidents:
                await conn.executemany(_INCIDENT_UPSERT, [incident_row(event) for event in incidents])
            await refresh_decisioning(
                conn, {e.case_id: e.lscb for e in events if e.event_type.startswith(DECISIONING_EVENTS)}
            )
            await refresh_reviews(conn, [e.case_id for e in events if e.event_type.startswith(ORCHESTRATION_EVENTS)])

    async def _apply(self, conn: Any, event: EventEnvelope) -> None:
        await conn.execute(_CASE_EVENT_INSERT, *case_event_row(event))
        if isinstance(event, IncidentReceived):
            await conn.execute(_INCIDENT_UPSERT, *incident_row(event))
        elif event.event_type.startswith(DECISIONING_EVENTS):
            await self._refresh_decisioning(conn, event.case_id, event.lscb)
        elif event.event_type.startswith(ORCHESTRATION_EVENTS):
            await refresh_review(conn, event.case_id)

    @staticmethod
    async def _refresh_decisioning(conn: Any, case_id: UUID, lscb: str) -> None:
        """Re-fold every decisioning event of the case, so arrival order and redelivery cannot matter."""
        await refresh_decisioning(conn, {case_id: lscb})

async def refresh_decisioning(conn: Any, cases: Mapping[UUID, str]) -> None:
    """Re-fold every decisioning event of these cases (case id -> board) into their columns and deadlines.

    One read for all of them; the locks, taken in case-id order so two callers cannot deadlock, serialise two
    transactions refolding one case (each then reads the other's committed event).
    """
    ordered = sorted(cases)
    if not ordered:
        return
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(c::text, 7202)) FROM unnest($1::uuid[]) AS c", ordered
    )
    rows = await conn.fetch(
        f"SELECT case_id, document FROM {SCHEMA}.case_events WHERE case_id = ANY($1::uuid[]) "
        "AND event_type LIKE 'decisioning.%' ORDER BY case_id, arrival",
        ordered,
    )
    updates: list[tuple[Any, ...]] = []
    deadlines: list[tuple[Any, ...]] = []
    for case_id, group in itertools.groupby(rows, key=lambda row: row["case_id"]):
        lscb = cases[case_id]
        state = fold_case(parse_event(decode(row["document"])) for row in group)
        updates.append(decisioning_values(case_id, lscb, state))
        deadlines.extend(deadline_values(case_id, lscb, state))
    await conn.executemany(_DECISIONING_UPSERT, updates)
    await conn.execute(f"DELETE FROM {SCHEMA}.deadlines WHERE case_id = ANY($1::uuid[])", ordered)
    await conn.executemany(
        f"INSERT INTO {SCHEMA}.deadlines (case_id, lscb, name, ref, due, met_at, met_on) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        deadlines,
    )


def decisioning_values(case_id: UUID, lscb: str, state: CaseDecisioning) -> tuple[Any, ...]:
    """The case's decisioning columns, in `DECISIONING_COLUMNS` order (JSON text for the jsonb ones)."""
    rec = state.recommendation
    return (
        case_id,
        lscb,
        None if rec is None else rec.model_dump_json(),
        None if rec is None else rec.review_type,
        None if rec is None else rec.statutory_scr,
        state.recommended_at,
        state.considered_for_scr,
        state.referred_at,
        state.referred_on,
        _json(state.decision),
        state.decisions_count,
        jsonb_text(state.lead_reviewers),
        jsonb_text(state.panel_notices),
        _json(state.learning_themes),
    )


def deadline_values(case_id: UUID, lscb: str, state: CaseDecisioning) -> list[tuple[Any, ...]]:
    """The case's deadline rows, in `DEADLINE_COLUMNS` order."""
    return [(case_id, lscb, d.name, d.ref, d.due, d.met_at, d.met_on) for d in state.deadlines]


DECISIONING_COLUMNS = (
    "case_id", "lscb", "recommendation", "review_type", "statutory_scr", "recommended_at", "considered_for_scr",
    "referred_at", "referred_on", "decision", "decisions_count", "lead_reviewers", "panel_notices", "learning_themes",
)
DEADLINE_COLUMNS = ("case_id", "lscb", "name", "ref", "due", "met_at", "met_on")
INCIDENT_COLUMNS = (
    "case_id", "lscb", "opened_at", "incident_date", "notified_date", "notifying_agency", "source_system", "child",
    "facts",
)
CASE_EVENT_COLUMNS = ("event_id", "case_id", "lscb", "event_type", "occurred_at", "recorded_at", "document")

_DECISIONING_UPSERT = (
    f"INSERT INTO {SCHEMA}.cases (case_id, lscb, recommendation, review_type, statutory_scr, "
    "recommended_at, considered_for_scr, referred_at, referred_on, decision, decisions_count, "
    "lead_reviewers, panel_notices, learning_themes) "
    "VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12::jsonb, $13::jsonb, $14::jsonb) "
    "ON CONFLICT (case_id) DO UPDATE SET recommendation = EXCLUDED.recommendation, "
    "review_type = EXCLUDED.review_type, statutory_scr = EXCLUDED.statutory_scr, "
    "recommended_at = EXCLUDED.recommended_at, considered_for_scr = EXCLUDED.considered_for_scr, "
    "referred_at = EXCLUDED.referred_at, referred_on = EXCLUDED.referred_on, decision = EXCLUDED.decision, "
    "decisions_count = EXCLUDED.decisions_count, lead_reviewers = EXCLUDED.lead_reviewers, "
    "panel_notices = EXCLUDED.panel_notices, learning_themes = EXCLUDED.learning_themes, updated_at = now()"
)


_POSITION_UPSERT = (
    f"INSERT INTO {SCHEMA}.positions (position_key, position) VALUES ($1, $2) "
    f"ON CONFLICT (position_key) DO UPDATE SET position = GREATEST({SCHEMA}.positions.position, EXCLUDED.position)"
)
_CASE_EVENT_INSERT = (
    f"INSERT INTO {SCHEMA}.case_events (event_id, case_id, lscb, event_type, occurred_at, recorded_at, document) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)"
)
_INCIDENT_UPSERT = (
    f"INSERT INTO {SCHEMA}.cases (case_id, lscb, opened_at, incident_date, notified_date, "
    "notifying_agency, source_system, child, facts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb) "
    "ON CONFLICT (case_id) DO UPDATE SET opened_at = EXCLUDED.opened_at, "
    "incident_date = EXCLUDED.incident_date, notified_date = EXCLUDED.notified_date, "
    "notifying_agency = EXCLUDED.notifying_agency, source_system = EXCLUDED.source_system, "
    "child = EXCLUDED.child, facts = EXCLUDED.facts, updated_at = now()"
)


def case_event_row(event: EventEnvelope) -> tuple[Any, ...]:
    """The event's `case_events` row, in `CASE_EVENT_COLUMNS` order (`arrival` is the table's)."""
    return (
        event.event_id,
        event.case_id,
        event.lscb,
        event.event_type,
        event.occurred_at,
        event.recorded_at,
        event.model_dump_json(),
    )


def incident_row(event: IncidentReceived) -> tuple[Any, ...]:
    """The intake columns of the event's case, in `INCIDENT_COLUMNS` order."""
    p = event.payload
    return (
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


def _json(value: Any) -> str | None:
    return None if value is None else jsonb_text(value)


def decode(value: Any) -> Any:
    """jsonb columns come back as text from asyncpg."""
    return None if value is None else json.loads(value)
