"""Write events and the rows they fold into a read-model schema in bulk: COPY, a page per transaction.

The live projector spends a round trip per statement and re-reads a case's events for each event it applies;
a rebuild instead COPYs a page of events at a time with the positions reached (so it can stop and go on from
there), then folds every case once from its stored events (`projections.case_rows`). During the catch-up it
folds just the cases a page touched, in the page's transaction. Parking follows live delivery: an event
that cannot be parsed or stored is parked with the reason, and later events of its case are parked behind it.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, cast
from uuid import UUID

import asyncpg

from events.registry import parse_event
from lif.delivery.failures import describe, is_transient
from lif.delivery.parking import ParkedEvents, Pending, Unparkable, event_ids
from projections.case_rows import CASE_COLUMNS, CaseRows, fold_case_rows
from projections.projector import CASE_EVENT_COLUMNS, DEADLINE_COLUMNS, case_event_row, decode
from projections.rebuild_sources import Page
from projections.reviews import REVIEW_COLUMNS

log = logging.getLogger(__name__)
CONSUMER = "projections"
FOLD_CASES = 2000
"""Cases folded per transaction (the fold's checkpoint)."""
_POSITION_UPSERT = (
    "INSERT INTO {schema}.positions (position_key, position) SELECT * FROM unnest($1::text[], $2::bigint[]) "
    "ON CONFLICT (position_key) DO UPDATE SET position = GREATEST({schema}.positions.position, EXCLUDED.position)"
)


class BulkWriter:
    """One rebuild's writes into `schema`, with the event ids it has already stored or parked."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.seen: set[int] = set()
        self.heads: dict[UUID, UUID] = {}
        """case id -> its open parked event (the head later events of the case are parked behind)."""

    async def prime(self, conn: Any) -> None:
        """Learn what an earlier, interrupted run stored and parked."""
        self.seen = {row[0].int for row in await conn.fetch(f"SELECT event_id FROM {self.schema}.case_events")}
        parked = await conn.fetch(
            f"SELECT event_id, case_id, status FROM {self.schema}.parked_events WHERE consumer = $1 ORDER BY seq",
            CONSUMER,
        )
        for row in parked:
            self.seen.add(row["event_id"].int)
            if row["status"] == "parked":
                self.heads.setdefault(row["case_id"], row["event_id"])

    async def positions(self, conn: Any) -> dict[str, int]:
        rows = await conn.fetch(f"SELECT position_key, position FROM {self.schema}.positions")
        return {row["position_key"]: row["position"] for row in rows}

    async def write_page(self, conn: Any, page: Page, *, refold: bool) -> int:
        """Store the page's new events and the positions it reached, in the caller's transaction.

        With `refold` (the catch-up, once the tables have their keys) the events are also marked processed
        and the cases they touch are folded again. Returns how many events were stored.
        """
        parked = ParkedEvents(cast(asyncpg.Pool, conn), self.schema, CONSUMER)  # the caller's transaction
        fresh: list[tuple[tuple[Any, ...], Pending]] = []
        for item in page.items:
            try:
                event_id, case_id = event_ids(item.envelope)
            except Unparkable as failure:  # the live consumers refused it too
                log.warning("rebuild skipped %s@%s: %s", item.position_key, item.position, failure)
                continue
            if event_id.int in self.seen:
                continue
            self.seen.add(event_id.int)
            head = self.heads.get(case_id)
            if head is not None:
                await parked.park(item.position_key, item.position, item.envelope, f"parked behind {head}", head)
                continue
            try:
                row = case_event_row(parse_event(item.envelope))
            except Exception as exc:
                await self._park(parked, item, describe(exc), case_id, event_id)
                continue
            fresh.append((row, item))
        stored = await self._store(conn, parked, fresh)
        if refold and stored:
            await conn.copy_records_to_table(
                "processed_events", schema_name=self.schema, columns=["event_id"], records=[(r[0],) for r in stored]
            )
            await self.refold(conn, sorted({r[1] for r in stored}))
        keys = sorted(page.reached)
        await conn.execute(
            _POSITION_UPSERT.format(schema=self.schema), keys, [page.reached[k] for k in keys]
        )
        return len(stored)

    async def _store(
        self, conn: Any, parked: ParkedEvents, fresh: list[tuple[tuple[Any, ...], Pending]]
    ) -> list[tuple[Any, ...]]:
        """COPY the rows; when PostgreSQL refuses one, store them one at a time and park what it refuses."""
        if not fresh:
            return []
        try:
            async with conn.transaction():
                await self._copy_events(conn, [row for row, _ in fresh])
            return [row for row, _ in fresh]
        except asyncpg.PostgresError as exc:
            if is_transient(exc):
                raise
        stored = []
        for row, item in fresh:
            event_id, case_id = row[0], row[1]
            head = self.heads.get(case_id)
            if head is not None:
                await parked.park(item.position_key, item.position, item.envelope, f"parked behind {head}", head)
                continue
            try:
                async with conn.transaction():
                    await self._copy_events(conn, [row])
                stored.append(row)
            except asyncpg.PostgresError as exc:
                if is_transient(exc):
                    raise
                await self._park(parked, item, describe(exc), case_id, event_id)
        return stored

    async def _copy_events(self, conn: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        await conn.copy_records_to_table(
            "case_events", schema_name=self.schema, columns=list(CASE_EVENT_COLUMNS), records=rows
        )

    async def _park(self, parked: ParkedEvents, item: Pending, reason: str, case_id: UUID, event_id: UUID) -> None:
        await parked.park(item.position_key, item.position, item.envelope, reason, None)
        self.heads[case_id] = event_id
        log.warning("rebuild parked event %s of case %s at %s@%s: %s", event_id, case_id, item.position_key,
                    item.position, reason)

    async def refold(self, conn: Any, case_ids: Sequence[UUID]) -> None:
        """Fold these cases again from their stored events, replacing their rows."""
        records = await conn.fetch(
            f"SELECT case_id, document FROM {self.schema}.case_events WHERE case_id = ANY($1::uuid[]) "
            "ORDER BY case_id, arrival",
            list(case_ids),
        )
        rows = fold_groups(records)
        for table in ("cases", "deadlines", "reviews"):
            await conn.execute(f"DELETE FROM {self.schema}.{table} WHERE case_id = ANY($1::uuid[])", list(case_ids))
        await self.copy_rows(conn, rows)

    async def copy_rows(self, conn: Any, rows: CaseRows) -> None:
        for table, columns, records in (
            ("cases", CASE_COLUMNS, rows.cases),
            ("deadlines", DEADLINE_COLUMNS, rows.deadlines),
            ("reviews", REVIEW_COLUMNS, rows.reviews),
        ):
            if records:
                await conn.copy_records_to_table(
                    table, schema_name=self.schema, columns=list(columns), records=records
                )

    async def fold_all(
        self,
        reader: Any,
        writer: Any,
        after: UUID | None,
        checkpoint: Callable[[Any, UUID], Awaitable[None]],
        advance: Callable[[int], None],
    ) -> None:
        """Fold every case after `after` (in case-id order), `FOLD_CASES` per transaction with its checkpoint."""
        query = (
            f"SELECT case_id, document FROM {self.schema}.case_events WHERE $1::uuid IS NULL OR case_id > $1 "
            "ORDER BY case_id, arrival"
        )
        pending: list[asyncpg.Record] = []
        cases = 0
        current: UUID | None = None
        async with reader.transaction(readonly=True):
            async for record in reader.cursor(query, after, prefetch=10000):
                if record["case_id"] != current:
                    if cases >= FOLD_CASES:
                        await self._write_folded(writer, pending, checkpoint, advance)
                        pending, cases = [], 0
                    current = record["case_id"]
                    cases += 1
                pending.append(record)
        if pending:
            await self._write_folded(writer, pending, checkpoint, advance)

    async def _write_folded(
        self,
        writer: Any,
        records: list[asyncpg.Record],
        checkpoint: Callable[[Any, UUID], Awaitable[None]],
        advance: Callable[[int], None],
    ) -> None:
        rows = fold_groups(records)
        async with writer.transaction():
            await self.copy_rows(writer, rows)
            await checkpoint(writer, records[-1]["case_id"])
        advance(len(records))


def fold_groups(records: Iterable[Any]) -> CaseRows:
    """The rows of each case among `records` (case_id, document), grouped by case in arrival order."""
    rows = CaseRows()
    for case_id, group in itertools.groupby(records, key=lambda r: r["case_id"]):
        events = [parse_event(decode(r["document"])) for r in group]
        rows.extend(fold_case_rows(case_id, events))
    return rows
