"""Incidents posted over real HTTP, and the read model polled until each one's recommendation is visible."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from bench.cpu import CpuMeter, CpuUse
from bench.http_client import KeepAliveClient
from bench.report import percentile
from lif.boards import boards
from lif.seed import random_notification

VISIBLE = "SELECT case_id FROM lif_projections.cases WHERE case_id = ANY($1::uuid[]) AND recommendation IS NOT NULL"


class Notifications:
    """Valid, distinct incident notifications across the boards (the seed generator's, as JSON)."""

    def __init__(self, rng_seed: int = 1) -> None:
        self.rng = random.Random(rng_seed)
        self.boards = sorted(boards())
        self.number = 0

    def next(self) -> dict[str, Any]:
        self.number += 1
        notification = random_notification(self.rng, self.rng.choice(self.boards), self.number)
        document = notification.model_dump(mode="json")
        document["source"]["reference"] = f"BENCH-{self.rng.getrandbits(48):012x}-{self.number}"
        return document


@dataclass
class Throughput:
    accepted: int = 0
    visible: int = 0
    http_rate: float = 0.0
    end_to_end_rate: float = 0.0
    seconds_to_visible: float = 0.0
    complete: bool = False
    errors: list[str] = field(default_factory=list)
    cpu: CpuUse | None = None


async def post(client: KeepAliveClient, document: dict[str, Any]) -> UUID:
    status, body = await client.post_json("/v1/incidents", document)
    if status != 202:
        raise RuntimeError(f"POST /v1/incidents answered {status}: {body[:300].decode(errors='replace')}")
    return UUID(orjson.loads(body)["case_id"])


async def wait_visible(pool: asyncpg.Pool, case_ids: list[UUID], deadline: float) -> tuple[int, float]:
    """How many of the cases show their recommendation, and when the last did (monotonic time)."""
    pending = set(case_ids)
    last = time.monotonic()
    while pending and time.monotonic() < deadline:
        rows = await pool.fetch(VISIBLE, list(pending))
        if rows:
            last = time.monotonic()
            pending.difference_update(row["case_id"] for row in rows)
        if pending:
            await asyncio.sleep(0.05)
    return len(case_ids) - len(pending), last


async def warm_up(client: KeepAliveClient, pool: asyncpg.Pool, notifications: Notifications, timeout: float) -> None:
    """One incident end to end, so start-up (consumer groups joining, caches) is not measured."""
    case_id = await post(client, notifications.next())
    seen, _ = await wait_visible(pool, [case_id], time.monotonic() + timeout)
    if not seen:
        raise RuntimeError(f"the warm-up incident's recommendation was not visible within {timeout} s")


async def post_back_to_back(
    client: KeepAliveClient, notifications: Notifications, *, concurrency: int, seconds: float, errors: list[str]
) -> list[UUID]:
    """`concurrency` clients post one incident after another for `seconds`; the case ids answered. A client
    stops early after 20 errors (appended to `errors`)."""
    case_ids: list[UUID] = []
    stop_at = time.monotonic() + seconds

    async def client_loop() -> None:
        while time.monotonic() < stop_at:
            try:
                case_ids.append(await post(client, notifications.next()))
            except Exception as error:
                errors.append(str(error)[:200])
                if len(errors) > 20:
                    return

    await asyncio.gather(*(client_loop() for _ in range(concurrency)))
    return case_ids


async def closed_loop(
    client: KeepAliveClient,
    pool: asyncpg.Pool,
    notifications: Notifications,
    *,
    concurrency: int,
    seconds: float,
    meter: CpuMeter | None = None,
) -> Throughput:
    """`concurrency` clients post back to back for `seconds`; then wait (up to 3x as long) for the read model.
    `meter` measures the CPU used from the first POST until the last recommendation is seen."""
    result = Throughput()
    if meter is not None:
        meter.start()
    started = time.monotonic()
    case_ids = await post_back_to_back(
        client, notifications, concurrency=concurrency, seconds=seconds, errors=result.errors
    )
    posted = time.monotonic()
    result.accepted = len(case_ids)
    result.http_rate = result.accepted / (posted - started)
    result.visible, last = await wait_visible(pool, case_ids, posted + 3 * seconds)
    if meter is not None:
        result.cpu = meter.stop()
    result.seconds_to_visible = last - started
    result.end_to_end_rate = result.visible / result.seconds_to_visible if result.seconds_to_visible else 0.0
    result.complete = result.visible == result.accepted
    return result


@dataclass
class Latency:
    rate: float
    sent: int = 0
    seen: int = 0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    cpu: CpuUse | None = None


async def open_loop(
    client: KeepAliveClient,
    pool: asyncpg.Pool,
    notifications: Notifications,
    *,
    rate: float,
    seconds: float,
    meter: CpuMeter | None = None,
) -> Latency:
    """Post at a steady `rate` for `seconds`; latency is POST sent -> recommendation visible (polled every 10 ms).
    `meter` measures the CPU used from the first POST until the last recommendation is seen."""
    result = Latency(rate=rate)
    sent_at: dict[UUID, float] = {}
    latencies: list[float] = []
    posting_done = asyncio.Event()

    async def one(at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        began = time.monotonic()
        case_id = await post(client, notifications.next())
        sent_at[case_id] = began

    async def poller() -> None:
        deadline = float("inf")
        while True:
            pending = [c for c in sent_at if c not in seen]
            if pending:
                for row in await pool.fetch(VISIBLE, pending):
                    seen.add(row["case_id"])
                    latencies.append(time.monotonic() - sent_at[row["case_id"]])
            if posting_done.is_set():
                deadline = min(deadline, time.monotonic() + 3 * seconds)
                if len(seen) == len(sent_at) or time.monotonic() > deadline:
                    return
            await asyncio.sleep(0.01)

    seen: set[UUID] = set()
    if meter is not None:
        meter.start()
    watcher = asyncio.create_task(poller())
    start = time.monotonic() + 0.05
    count = max(1, int(rate * seconds))
    await asyncio.gather(*(one(start + i / rate) for i in range(count)), return_exceptions=True)
    posting_done.set()
    await watcher
    if meter is not None:
        result.cpu = meter.stop()
    result.sent, result.seen = len(sent_at), len(latencies)
    if latencies:
        result.p50_ms = percentile(latencies, 0.50) * 1000
        result.p99_ms = percentile(latencies, 0.99) * 1000
    return result
