"""Rebuild the read model without downtime, from Kafka's retained topics or from the services' own logs.

The live read model keeps serving, and the live projector keeps following, while the rebuild fills a new
schema beside it (`projections.schema_swap`) in phases, each recorded there so an interrupted rebuild
(Ctrl-C, kill, a crash) goes on where it stopped when run again:

1. load: every event up to the sources' positions as of the start, COPYed a page at a time with the
   positions reached (`projections.bulk_writer`);
2. index: the processed event ids, then the live tables' keys and indexes;
3. fold: every case folded once from its events into its rows, in case-id order, with the last case done;
4. catch up: the events that arrived meanwhile, page by page, refolding the cases they touch; then, holding
   the live projector off, the last of them and the swap, in one transaction.

The projections' parked events start from nothing: a poison event is parked again by the rebuild, as live
delivery parks it, instead of stopping the rebuild.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from eventsourcing.application import Application

from lif.progress import ProgressBar
from projections import fold_processes, log_copy, schema_swap
from projections.bulk_writer import CONSUMER, BulkWriter
from projections.fold_processes import FoldProcesses
from projections.projector import CaseProjector
from projections.rebuild_sources import KafkaSource, LogSource, RebuildSource, prefetched
from projections.schema_swap import NEXT, STATE_TABLE

log = logging.getLogger(__name__)
SWAP_LAG = 2000
"""Events still to catch up with at most which the rebuild takes the lock and swaps."""
CATCH_UP_ROUNDS = 5
"""Catch-up rounds before swapping anyway (the live projector waits for the last one)."""
UNITS = {"logs": "log positions", "kafka": "offsets"}
LOADERS = max(1, os.cpu_count() or 1)
"""Logs loaded side by side when PostgreSQL copies them (each keeps a core of the server busy)."""
INDEX_MEMORY = "512MB"
"""`maintenance_work_mem` while the keys and indexes are built (PostgreSQL's default of 64MB sorts on disk)."""


@dataclass(frozen=True)
class RebuildState:
    source: str
    phase: str
    targets: dict[str, int]
    folded_after: UUID | None


async def read_state(conn: Any) -> RebuildState | None:
    """What an earlier rebuild left in the next schema (None when there is none to go on with)."""
    if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{NEXT}.{STATE_TABLE}"):
        return None
    row = await conn.fetchrow(f"SELECT source, phase, targets, folded_after FROM {NEXT}.{STATE_TABLE}")
    if row is None:
        return None
    return RebuildState(row["source"], row["phase"], json.loads(row["targets"]), row["folded_after"])


async def _set_phase(conn: Any, phase: str) -> None:
    await conn.execute(f"UPDATE {NEXT}.{STATE_TABLE} SET phase = $1", phase)


async def _checkpoint_fold(conn: Any, case_id: UUID) -> None:
    await conn.execute(f"UPDATE {NEXT}.{STATE_TABLE} SET folded_after = $1", case_id)


def _lag(heads: dict[str, int], positions: dict[str, int]) -> int:
    return sum(max(0, head - positions.get(key, 0)) for key, head in heads.items())


async def rebuild_online(
    pool: asyncpg.Pool, source: RebuildSource, *, progress: bool = True, restart: bool = False,
    fold_in: FoldProcesses | None = None,
) -> int:
    """Rebuild into the next schema, going on from an interrupted rebuild of the same source; returns the events
    this run stored. `fold_in`: fold in worker processes (`projections.fold_processes`) when there is enough."""
    with contextlib.ExitStack() as stack:
        return await _rebuild(pool, source, progress, restart, fold_in, stack)


async def _rebuild(
    pool: asyncpg.Pool, source: RebuildSource, progress: bool, restart: bool, fold_in: FoldProcesses | None,
    stack: contextlib.ExitStack,
) -> int:
    writer = BulkWriter(NEXT)
    async with pool.acquire() as conn:
        state = None if restart else await read_state(conn)
        if state is not None and state.source != source.name:
            log.warning("discarding an unfinished rebuild from %s: this one reads %s", state.source, source.name)
            state = None
        if state is None:
            targets = await source.heads()
            await schema_swap.create_next(conn, source.name, targets)
            state = RebuildState(source.name, "load", targets, None)
        else:
            _say(progress, f"resuming the rebuild from {source.name} (phase {state.phase})")
            await writer.prime(conn)
        applied = 0
        executor = None
        if fold_in is not None and state.phase in ("load", "index", "fold") and (
            sum(state.targets.values()) >= fold_processes.MIN_EVENTS
        ):
            executor = stack.enter_context(fold_processes.started(fold_in))  # they start while the load runs
        if state.phase == "load":
            applied += await _load(pool, conn, writer, source, state.targets, progress)
            await _set_phase(conn, "index")
            state = RebuildState(state.source, "index", state.targets, None)
        if state.phase == "index":
            _say(progress, "building the read model's keys and indexes")
            async with conn.transaction():
                await conn.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_MEMORY}'")
                await _arrive_after(conn, sum(state.targets.values()))
                await _key_case_events(conn)
                await conn.execute(
                    f"INSERT INTO {NEXT}.processed_events (event_id) SELECT event_id FROM {NEXT}.case_events"
                )
                await schema_swap.build_indexes(conn)
                await _set_phase(conn, "fold")
            state = RebuildState(state.source, "fold", state.targets, None)
        if state.phase == "fold":
            await writer.discard_folded_after(conn, state.folded_after)
            async with pool.acquire() as reader:
                await _fold(reader, conn, writer, state.folded_after, progress, executor)
            await writer.learn_heads(conn)
            await _set_phase(conn, "catch_up")
        applied += await _catch_up_and_swap(conn, writer, source, progress)
    return applied


async def _load(
    pool: asyncpg.Pool, conn: Any, writer: BulkWriter, source: RebuildSource, targets: dict[str, int],
    progress: bool,
) -> int:
    """Load every event up to the targets. The logs go side by side when PostgreSQL copies them itself (then it is
    what works, one core per log); each event's `arrival` comes from its log and position, so the logs keep the
    order of one loaded after the other."""
    positions = await writer.positions(conn)
    bar = _bar(progress, _lag(targets, positions), "rebuilding: loading events", UNITS[source.name])
    if isinstance(source, KafkaSource):
        source.staged = True  # the records checked and copied inside the database (`log_copy.copy_staged`)
        try:
            applied = await _load_pages(conn, writer, source, positions, targets, bar)
        finally:
            source.staged = False
    elif not isinstance(source, LogSource):
        applied = await _load_pages(conn, writer, source, positions, targets, bar)
    else:
        writer.arrival_base = _arrival_bases(list(source.logs), targets)
        try:
            if await source.share_database(conn, NEXT):
                applied = await _load_side_by_side(pool, writer, source, positions, targets, bar)
            else:
                log.info("the read model's connection cannot read the logs in their database: loading through it")
                applied = await _load_pages(conn, writer, source, positions, targets, bar)
        finally:
            source.keep_out()
            writer.arrival_base = {}
    if bar:
        bar.finish()
    return applied


def _arrival_bases(keys: Sequence[str], targets: dict[str, int]) -> dict[str, int]:
    """Each log's first arrival less one: after every position of the logs before it, up to their targets."""
    bases, base = {}, 0
    for key in keys:
        bases[key] = base
        base += targets.get(key, 0)
    return bases


async def _load_side_by_side(
    pool: asyncpg.Pool, writer: BulkWriter, source: LogSource, positions: dict[str, int], targets: dict[str, int],
    bar: ProgressBar | None,
) -> int:
    """Load each log on a connection of its own, `LOADERS` at a time (a failure stops the others)."""
    keys = [key for key in source.logs if positions.get(key, 0) < targets.get(key, 0)]

    async def loader() -> int:
        applied = 0
        async with pool.acquire() as conn:
            while keys:
                key = keys.pop(0)
                applied += await _load_pages(conn, writer, source, {key: positions.get(key, 0)},
                                             {key: targets[key]}, bar)
        return applied

    tasks = [asyncio.ensure_future(loader()) for _ in range(max(1, min(LOADERS, len(keys))))]
    try:
        return sum(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _load_pages(
    conn: Any, writer: BulkWriter, source: RebuildSource, start: dict[str, int], until: dict[str, int],
    bar: ProgressBar | None,
) -> int:
    positions = dict(start)
    applied = 0
    async for page in prefetched(source.pages(positions, until)):
        async with conn.transaction():
            applied += await writer.write_page(conn, page, refold=False)
        for key, reached in page.reached.items():
            if bar:
                bar.advance(max(0, reached - positions.get(key, 0)))
            positions[key] = max(reached, positions.get(key, 0))
    return applied


async def _arrive_after(conn: Any, loaded: int) -> None:
    """Make the events stored from now on (the catch-up's) arrive after every loaded one, whose arrivals are at
    most the sum of the targets (`_arrival_bases`)."""
    sequence = await conn.fetchval("SELECT pg_get_serial_sequence($1, 'arrival')", f"{NEXT}.case_events")
    await conn.execute(
        f"SELECT setval('{sequence}', greatest($1::bigint, (SELECT last_value FROM {sequence})))", loaded
    )


async def _key_case_events(conn: Any) -> None:
    """Build `case_events`' key and indexes; when an event id is there twice (a log that recorded it twice), keep
    its first copy and build them then. Then drop the copies of the events that were parked."""
    try:
        async with conn.transaction():
            await schema_swap.build_indexes(conn, ["case_events"])
    except asyncpg.UniqueViolationError:
        await log_copy.keep_first_copies(conn, NEXT)
        await schema_swap.build_indexes(conn, ["case_events"])
    await log_copy.drop_parked_copies(conn, NEXT, CONSUMER)


async def _fold(
    reader: Any, writer_conn: Any, writer: BulkWriter, after: UUID | None,
    progress: bool, executor: Executor | None,
) -> None:
    total = await reader.fetchval(
        f"SELECT count(*) FROM {NEXT}.case_events WHERE $1::uuid IS NULL OR case_id > $1", after
    )
    bar = _bar(progress, int(total), "rebuilding: folding cases", "events")
    advance = bar.advance if bar else lambda _: None
    if executor is not None and total >= fold_processes.MIN_EVENTS:
        await fold_processes.fold_in_processes(executor, writer_conn, NEXT, after, _checkpoint_fold, advance)
    else:
        await writer.fold_all(reader, writer_conn, after, _checkpoint_fold, advance)
    if bar:
        bar.finish()


async def _catch_up_and_swap(
    conn: Any, writer: BulkWriter, source: RebuildSource, progress: bool
) -> int:
    """Apply what arrived since the load began, then the rest and the swap under the live projector's lock."""
    applied = 0
    for _ in range(CATCH_UP_ROUNDS):
        heads = await source.heads()
        positions = await writer.positions(conn)
        lag = _lag(heads, positions)
        if lag <= SWAP_LAG:
            break
        applied += await _apply_until(conn, writer, source, positions, heads, progress)
    async with conn.transaction():
        await schema_swap.hold_live_projector(conn)
        heads = await source.heads()  # after the lock: every event the live projector applied is up to these
        positions = await writer.positions(conn)
        applied += await _apply_until(conn, writer, source, positions, heads, progress, own_transaction=False)
        await schema_swap.swap(conn)
    await schema_swap.drop_old(conn)
    _say(progress, "rebuilt: the new read model is live")
    return applied


async def _apply_until(
    conn: Any,
    writer: BulkWriter,
    source: RebuildSource,
    positions: dict[str, int],
    heads: dict[str, int],
    progress: bool,
    *,
    own_transaction: bool = True,
) -> int:
    lag = _lag(heads, positions)
    bar = _bar(progress and lag > 0, lag, "rebuilding: catching up", UNITS[source.name])
    applied = 0
    async for page in prefetched(source.pages(positions, heads)):
        if own_transaction:
            async with conn.transaction():
                applied += await writer.write_page(conn, page, refold=True)
        else:
            applied += await writer.write_page(conn, page, refold=True)
        for key, reached in page.reached.items():
            if bar:
                bar.advance(max(0, reached - positions.get(key, 0)))
            positions[key] = max(reached, positions.get(key, 0))
    if bar:
        bar.finish()
    return applied


def _bar(progress: bool, total: int, label: str, unit: str) -> ProgressBar | None:
    return ProgressBar(total, label, unit=unit) if progress else None


def _say(progress: bool, message: str) -> None:
    log.info(message)
    if progress:
        import sys

        print(message, file=sys.stderr)


async def rebuild_from_logs(
    projector: CaseProjector, logs: Sequence[tuple[str, Application]], *, progress: bool = True,
    restart: bool = False, fold_in: FoldProcesses | None = None,
) -> int:
    """Rebuild from each named log (embedded runtime) while the live read model serves."""
    return await rebuild_online(projector.pool, LogSource(logs), progress=progress, restart=restart, fold_in=fold_in)


async def rebuild_from_kafka(
    projector: CaseProjector, bootstrap: str, topic_names: Sequence[str], *, progress: bool = True,
    restart: bool = False, fold_in: FoldProcesses | None = None,
) -> int:
    """Rebuild from every retained event of the topics (distributed runtime) while the live read model serves."""
    source = KafkaSource(bootstrap, topic_names)
    await source.start()
    try:
        return await rebuild_online(projector.pool, source, progress=progress, restart=restart, fold_in=fold_in)
    finally:
        await source.stop()
