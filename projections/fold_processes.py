"""Fold a rebuild's cases in worker processes, a range of case ids each, so the fold uses every core.

The fold is Python work (each event built into its model, each case folded into its rows), so one process
folds at the speed of one core. Here the case ids are cut into ranges of `bulk_writer.FOLD_CASES` cases;
each worker reads a range's events, folds them and COPYs the rows (parking what its model refuses) in one
transaction of its own, and the rebuild records the checkpoint of each range in order, once every range
before it is written too. A range written past the checkpoint when the rebuild stopped is removed before
the fold goes on (`BulkWriter.discard_folded_after`), so a resumed fold writes each case once.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from lif.db import connect
from projections import bulk_writer
from projections.bulk_writer import BulkWriter, fold_groups

MIN_EVENTS = 20000
"""Fewer events than this are folded in the rebuild's own process (starting workers costs about a second)."""


@dataclass(frozen=True)
class FoldProcesses:
    """Where the workers connect: the read model's database, acting as `role` when given (see
    `lif.admin.read_model_owner`), and how many of them."""

    database_url: str
    role: str | None
    processes: int


_worker: dict[str, Any] = {}
"""The worker process's event loop and connection (`_start`)."""


def _start(database_url: str, role: str | None) -> None:
    loop = asyncio.new_event_loop()
    _worker["loop"] = loop
    _worker["conn"] = loop.run_until_complete(_connect(database_url, role))


async def _connect(database_url: str, role: str | None) -> Any:
    conn = await connect(database_url)
    if role is not None:
        await conn.execute(f"SET ROLE {role}")  # regrole text, quoted where it must be
    return conn


def _ready() -> bool:
    return "conn" in _worker


def fold_range(schema: str, after: UUID | None, upto: UUID) -> int:
    """Fold and write the cases `after < case_id <= upto` (in a worker); how many events they have."""
    loop: asyncio.AbstractEventLoop = _worker["loop"]
    return loop.run_until_complete(_fold_range(_worker["conn"], schema, after, upto))


async def _fold_range(conn: Any, schema: str, after: UUID | None, upto: UUID) -> int:
    records = await conn.fetch(
        f"SELECT case_id, event_type, document, arrival FROM {schema}.case_events "
        "WHERE ($1::uuid IS NULL OR case_id > $1) AND case_id <= $2 ORDER BY case_id, arrival",
        after,
        upto,
    )
    rows, refused = fold_groups(records)
    writer = BulkWriter(schema)
    async with conn.transaction():
        await writer.park_refused(conn, refused)
        await writer.copy_rows(conn, rows)
    return len(records)


@contextlib.contextmanager
def started(settings: FoldProcesses) -> Iterator[Executor]:
    """The workers, started now (each connects while the rebuild loads); stopped, unfinished work dropped, on exit."""
    executor = ProcessPoolExecutor(
        settings.processes,
        mp_context=multiprocessing.get_context("spawn"),  # not fork: the rebuild's process runs threads
        initializer=_start,
        initargs=(settings.database_url, settings.role),
    )
    try:
        for _ in range(settings.processes):
            executor.submit(_ready)
        yield executor
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


async def range_ends(conn: Any, schema: str, after: UUID | None) -> list[UUID]:
    """The last case id of each range of `FOLD_CASES` cases after `after`, in order (the last one the newest)."""
    rows = await conn.fetch(
        f"SELECT case_id FROM (SELECT case_id, row_number() OVER (ORDER BY case_id) AS n, count(*) OVER () AS cases "
        f"FROM (SELECT DISTINCT case_id FROM {schema}.case_events WHERE $1::uuid IS NULL OR case_id > $1) AS d) AS r "
        "WHERE n % $2 = 0 OR n = cases ORDER BY case_id",
        after,
        bulk_writer.FOLD_CASES,
    )
    return [row["case_id"] for row in rows]


async def fold_in_processes(
    executor: Executor,
    conn: Any,
    schema: str,
    after: UUID | None,
    checkpoint: Callable[[Any, UUID], Awaitable[None]],
    advance: Callable[[int], None],
) -> None:
    """Fold every case after `after`, the ranges in the workers, each checkpoint recorded on `conn` in order."""
    ends = await range_ends(conn, schema, after)
    loop = asyncio.get_running_loop()
    futures = [
        loop.run_in_executor(executor, fold_range, schema, start, end)
        for start, end in zip([after, *ends[:-1]], ends, strict=True)
    ]
    try:
        for end, future in zip(ends, futures, strict=True):
            folded = await future
            await checkpoint(conn, end)
            advance(folded)
    finally:
        for future in futures:
            future.cancel()
