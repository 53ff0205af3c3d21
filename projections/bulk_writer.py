"""Write events and the rows they fold into a read-model schema in bulk: COPY, a page per transaction.

The live projector spends a round trip per statement and re-reads a case's events for each event it applies;
a rebuild instead COPYs a page of events at a time with the positions reached (so it can stop and go on from
there), then folds every case once from its stored events (`projections.case_rows`). During the catch-up it
folds just the cases a page touched, in the page's transaction. Parking follows live delivery: an event
that cannot be parsed or stored is parked with the reason, and later events of its case are parked behind it.

Each event is validated once. The bulk load stores an event's envelope as its source holds it (`stored_row`:
the envelope fields the row needs are checked, the payload is not), which is the document the live projector
writes for every event a service of ours wrote (they store `model_dump(mode="json")` of the same models);
an event an upcaster applies to goes through the contract's model instead. The fold then builds each document
into its model as it folds it (`fold_groups`, `TRUSTED`: types and structure validated by pydantic, the field
checks that a service ran when it wrote the event not run again); an event refused there is parked, and the
later events of its case behind it, as live delivery would have (their position is the one they have in
`case_events`, the rebuild's own order: the source's is not kept past the load). The catch-up validates each
event in full before storing it, as the live projector does.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import asyncpg
import orjson
from pydantic import ValidationError
from pydantic_core import SchemaValidator

from events.envelope import LSCB_PATTERN, EventEnvelope
from events.registry import EVENT_MODELS, UPCASTERS, parse_event
from lif.delivery.failures import describe, is_transient
from lif.delivery.parking import ParkedEvents, Pending, Unparkable, event_ids
from projections.case_rows import CASE_COLUMNS, CaseRows, fold_case_rows
from projections.log_copy import copy_range, copy_staged
from projections.projector import CASE_EVENT_COLUMNS, DEADLINE_COLUMNS, case_event_row
from projections.rebuild_sources import Page
from projections.reviews import REVIEW_COLUMNS

log = logging.getLogger(__name__)
CONSUMER = "projections"
FOLD_CASES = 5000
"""Cases folded per transaction (the fold's checkpoint)."""
FOLDED_POSITION = "rebuild:case_events"
"""The position key of an event the fold parks: its position is its `arrival` in the rebuilt `case_events`."""
_LSCB = re.compile(LSCB_PATTERN)
_INSTANT = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
"""A time as the contract's models write it (ISO 8601 with its offset)."""
_CONTROL = re.compile(r"\\u00|\\[bf]|[\x7f-\x9f]")
"""A control character in an envelope's JSON (orjson writes C0 ones as `\\b`, `\\f` or `\\u00XX`, and DEL and C1
as they are): what the contract's field checks refuse and PostgreSQL's jsonb may not hold, left to the
contract's model to describe. An escaped backslash before `u00`, `b` or `f` matches too: such an event only
takes the model's longer way."""
NEWEST_MODELS: dict[str, type[EventEnvelope]] = {
    event_type: model for (event_type, _), model in sorted(EVENT_MODELS.items(), key=lambda item: item[0][1])
}
"""Each event type's newest model: what a document in `case_events` is (stored upcast, at its newest version)."""


def _without_checks(schema: Any) -> Any:
    """A pydantic core schema without its before- and after-validator functions.

    Every such function of the contract (`events.fields`: no control characters, a date's shape and window; the
    models' cross-field checks) is a check that returns its input unchanged, so what is left builds the same
    objects from a valid document, without calling back into Python for each checked field.
    """
    if isinstance(schema, dict):
        if schema.get("type") in ("function-after", "function-before") and "schema" in schema:
            return _without_checks(schema["schema"])
        return {key: _without_checks(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_without_checks(value) for value in schema]
    return schema


def _model_classes(schema: Any) -> set[type]:
    """The classes of the model schemas within `schema`."""
    if isinstance(schema, dict):
        found = {schema["cls"]} if schema.get("type") == "model" and isinstance(schema.get("cls"), type) else set()
        for value in schema.values():
            found |= _model_classes(value)
        return found
    if isinstance(schema, list):
        return set().union(*(_model_classes(value) for value in schema)) if schema else set()
    return set()


def _trusted_validator(model: type[EventEnvelope]) -> SchemaValidator:
    """A validator built from the model's schema without its checks (`_without_checks`).

    pydantic-core reuses a complete model class's own validator, every check included, for a model schema naming
    that class (a "prebuilt" validator), whatever the schema holds; each class is marked incomplete while this
    one is built, so it is built from the schema given, with the same classes."""
    schema = _without_checks(model.__pydantic_core_schema__)
    classes = _model_classes(schema)
    complete = {cls: cls.__dict__.get("__pydantic_complete__") for cls in classes}
    try:
        for cls in classes:
            type.__setattr__(cls, "__pydantic_complete__", False)
        return SchemaValidator(schema)
    finally:
        for cls, value in complete.items():
            type.__setattr__(cls, "__pydantic_complete__", value)


TRUSTED: dict[str, SchemaValidator] = {
    event_type: _trusted_validator(model) for event_type, model in NEWEST_MODELS.items()
}
"""Each event type's model as the fold reads a document of `case_events`: its types and structure validated, the
field checks not run again (the events were checked when a service of ours wrote them)."""
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
        self.arrival_base: dict[str, int] = {}
        """position key -> the `arrival` of its position 0, for a load that gives each event its arrival from its
        position (`projections.rebuild`: logs loaded side by side keep the order of one after the other)."""

    async def prime(self, conn: Any) -> None:
        """Learn what an earlier, interrupted run stored and parked."""
        self.seen = {row[0].int for row in await conn.fetch(f"SELECT event_id FROM {self.schema}.case_events")}
        self.seen.update(event_id.int for event_id in await self.learn_heads(conn))

    async def learn_heads(self, conn: Any) -> list[UUID]:
        """Learn the cases with a parked event (the fold's workers park too); returns every parked event id."""
        parked = await conn.fetch(
            f"SELECT event_id, case_id, status FROM {self.schema}.parked_events WHERE consumer = $1 ORDER BY seq",
            CONSUMER,
        )
        for row in parked:
            if row["status"] == "parked":
                self.heads.setdefault(row["case_id"], row["event_id"])
        return [row["event_id"] for row in parked]

    async def discard_folded_after(self, conn: Any, after: UUID | None) -> None:
        """Remove the rows of the cases after the fold's checkpoint (written by a fold that stopped before
        recording it), so the fold going on from there writes each case once."""
        for table in ("cases", "deadlines", "reviews"):
            await conn.execute(f"DELETE FROM {self.schema}.{table} WHERE $1::uuid IS NULL OR case_id > $1", after)

    async def positions(self, conn: Any) -> dict[str, int]:
        rows = await conn.fetch(f"SELECT position_key, position FROM {self.schema}.positions")
        return {row["position_key"]: row["position"] for row in rows}

    async def write_page(self, conn: Any, page: Page, *, refold: bool) -> int:
        """Store the page's new events and the positions it reached, in the caller's transaction.

        With `refold` (the catch-up, once the tables have their keys) each event is validated first, the events
        are also marked processed and the cases they touch are folded again. Returns how many events were stored.
        """
        if page.in_database is not None and not refold:
            base = self.arrival_base.get(page.in_database.key)
            copied = await copy_range(conn, self.schema, page.in_database, self.heads, base)
            if copied is not None:
                await self._reached(conn, page)
                return copied
        if page.staged is not None and not refold:
            copied = await copy_staged(conn, self.schema, page.staged, self.heads)
            if copied is not None:
                await self._reached(conn, page)
                return copied
        if page.read is not None:
            page = await page.read()
        parked = ParkedEvents(cast(asyncpg.Pool, conn), self.schema, CONSUMER)  # the caller's transaction
        fresh: list[tuple[tuple[Any, ...], Pending]] = []
        seen, heads = self.seen, self.heads
        for item in page.items:
            try:
                event_id, case_id = event_ids(item.envelope)
            except Unparkable as failure:  # the live consumers refused it too
                log.warning("rebuild skipped %s@%s: %s", item.position_key, item.position, failure)
                continue
            if event_id.int in seen:
                continue
            seen.add(event_id.int)
            head = heads.get(case_id)
            if head is not None:
                await parked.park(item.position_key, item.position, item.envelope, f"parked behind {head}", head)
                continue
            try:
                row = case_event_row(parse_event(item.envelope)) if refold else stored_row(item.envelope)
            except Exception as exc:
                await self._park(parked, item, describe(exc), case_id, event_id)
                continue
            base = None if refold else self.arrival_base.get(item.position_key)
            fresh.append((row if base is None else (*row, base + item.position), item))
        stored = await self._store(conn, parked, fresh)
        if refold and stored:
            await conn.copy_records_to_table(
                "processed_events", schema_name=self.schema, columns=["event_id"], records=[(r[0],) for r in stored]
            )
            await self.refold(conn, sorted({r[1] for r in stored}))
        await self._reached(conn, page)
        return len(stored)

    async def _reached(self, conn: Any, page: Page) -> None:
        keys = sorted(page.reached)
        await conn.execute(_POSITION_UPSERT.format(schema=self.schema), keys, [page.reached[k] for k in keys])

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
        """COPY rows of `CASE_EVENT_COLUMNS`, each with its `arrival` after them or none of them with one."""
        columns = list(CASE_EVENT_COLUMNS)
        if rows and len(rows[0]) > len(columns):
            columns.append("arrival")
        await conn.copy_records_to_table("case_events", schema_name=self.schema, columns=columns, records=rows)

    async def _park(self, parked: ParkedEvents, item: Pending, reason: str, case_id: UUID, event_id: UUID) -> None:
        await parked.park(item.position_key, item.position, item.envelope, reason, None)
        self.heads[case_id] = event_id
        log.warning("rebuild parked event %s of case %s at %s@%s: %s", event_id, case_id, item.position_key,
                    item.position, reason)

    async def refold(self, conn: Any, case_ids: Sequence[UUID]) -> None:
        """Fold these cases again from their stored events, replacing their rows."""
        records = await conn.fetch(
            f"SELECT case_id, event_type, document, arrival FROM {self.schema}.case_events "
            "WHERE case_id = ANY($1::uuid[]) ORDER BY case_id, arrival",
            list(case_ids),
        )
        rows, refused = fold_groups(records)
        for table in ("cases", "deadlines", "reviews"):
            await conn.execute(f"DELETE FROM {self.schema}.{table} WHERE case_id = ANY($1::uuid[])", list(case_ids))
        await self.park_refused(conn, refused)
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
        """Fold every case after `after` (in case-id order), `FOLD_CASES` per transaction with its checkpoint.

        While one batch's rows are COPYed (on `writer`), the next batch is read (on `reader`) and folded.
        """
        query = (
            f"SELECT case_id, event_type, document, arrival FROM {self.schema}.case_events "
            "WHERE $1::uuid IS NULL OR case_id > $1 ORDER BY case_id, arrival"
        )
        pending: list[asyncpg.Record] = []
        cases = 0
        current: UUID | None = None
        writing: asyncio.Task[None] | None = None

        async def write(records: list[asyncpg.Record]) -> None:
            nonlocal writing
            rows, refused = fold_groups(records)
            if writing is not None:
                await writing
            writing = asyncio.ensure_future(
                self._write_folded(writer, rows, refused, records[-1]["case_id"], checkpoint)
            )
            count = len(records)

            def written(task: asyncio.Task[None]) -> None:
                if not task.cancelled() and task.exception() is None:
                    advance(count)

            writing.add_done_callback(written)

        try:
            async with reader.transaction(readonly=True):
                async for record in reader.cursor(query, after, prefetch=20000):
                    if record["case_id"] != current:
                        if cases >= FOLD_CASES:
                            await write(pending)
                            pending, cases = [], 0
                        current = record["case_id"]
                        cases += 1
                    pending.append(record)
            if pending:
                await write(pending)
            if writing is not None:
                await writing
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
                await asyncio.gather(writing, return_exceptions=True)

    async def _write_folded(
        self,
        writer: Any,
        rows: CaseRows,
        refused: list[Refused],
        last: UUID,
        checkpoint: Callable[[Any, UUID], Awaitable[None]],
    ) -> None:
        async with writer.transaction():
            await self.park_refused(writer, refused)
            await self.copy_rows(writer, rows)
            await checkpoint(writer, last)

    async def park_refused(self, conn: Any, refused: Sequence[Refused]) -> None:
        """Park each event the fold refused, and the later events of its case behind it, out of `case_events`."""
        if not refused:
            return
        parked = ParkedEvents(cast(asyncpg.Pool, conn), self.schema, CONSUMER)
        removed: list[UUID] = []
        for failure in refused:
            head: UUID | None = None
            for record in failure.records:
                envelope = orjson.loads(record[2])
                event_id, case_id = event_ids(envelope)
                if head is None:
                    await parked.park(FOLDED_POSITION, record[3], envelope, failure.reason, None)
                    head = event_id
                    self.heads[case_id] = event_id
                    log.warning("rebuild parked event %s of case %s: %s", event_id, case_id, failure.reason)
                else:
                    await parked.park(FOLDED_POSITION, record[3], envelope, f"parked behind {head}", head)
                removed.append(event_id)
        for table in ("case_events", "processed_events"):
            await conn.execute(f"DELETE FROM {self.schema}.{table} WHERE event_id = ANY($1::uuid[])", removed)


@dataclass(frozen=True)
class Refused:
    """The events of a case from the first one its model refused on, in arrival order, and the reason."""

    records: list[Any]
    reason: str


def fold_groups(records: Iterable[Any]) -> tuple[CaseRows, list[Refused]]:
    """The rows of each case among `records` (case_id, event_type, document, arrival, by position), grouped by case in
    arrival order, each document built into its model (`TRUSTED`); and the events refused, from the first of a case
    on."""
    rows = CaseRows()
    refused: list[Refused] = []
    models = TRUSTED
    for case_id, group in itertools.groupby(records, key=lambda r: r[0]):
        case_records = list(group)
        events: list[EventEnvelope] = []
        for index, record in enumerate(case_records):
            try:
                events.append(models[record[1]].validate_json(record[2]))
            except (KeyError, ValidationError) as exc:
                refused.append(Refused(case_records[index:], describe(exc)))
                break
        rows.extend(fold_case_rows(case_id, events))
    return rows, refused


def stored_row(envelope: dict[str, Any]) -> tuple[Any, ...]:
    """The event's `case_events` row from its envelope as stored (see the module's docstring): the envelope's
    fields checked, the payload left to the fold's validation. Whatever these checks do not take as it is
    (an older version an upcaster applies to, a time in another form, a control character anywhere) goes
    through the contract's model, which refuses it as the live projector does or gives the row it would."""
    try:
        event_type, version = envelope["event_type"], envelope["schema_version"]
        trusted = (event_type, version) in EVENT_MODELS and (event_type, version) not in UPCASTERS
        occurred, recorded, lscb = envelope["occurred_at"], envelope["recorded_at"], envelope["lscb"]
        trusted = trusted and isinstance(lscb, str) and _LSCB.match(lscb) is not None
        trusted = trusted and isinstance(occurred, str) and isinstance(recorded, str)
        trusted = trusted and _INSTANT.match(occurred) is not None and _INSTANT.match(recorded) is not None
    except (KeyError, TypeError):
        trusted = False
    document = None
    if trusted:
        try:
            document = orjson.dumps(envelope).decode()
        except (TypeError, orjson.JSONEncodeError):  # a lone surrogate, a number out of range
            document = None
    if document is None or _CONTROL.search(document) is not None:
        return case_event_row(parse_event(envelope))
    return (
        UUID(envelope["event_id"]),
        UUID(envelope["case_id"]),
        lscb,
        event_type,
        datetime.fromisoformat(occurred),
        datetime.fromisoformat(recorded),
        document,
    )
