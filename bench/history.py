"""B3 (rebuild of the read model, from the logs and from Kafka) and B4 (an auditor's reads), on seeded history."""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx

from bench.baselines import copy_rows
from bench.cpu import CpuUse, cpu_meter, exited_children_cpu
from bench.processes import BENCH_KEY, free_port, lif_env, lif_server, new_token, spawn, stop, wait_idle
from bench.report import Figure, percentile
from lif.composition import INTAKE_SCHEMA, PROJECTED_TOPICS, open_logs
from lif.db import close_pool, create_pool
from lif.delivery.log import read_log_page
from lif.delivery.relay import LogRelay, RelayPositions, create_producer
from lif.seed import SeedResult, seed_history
from lif.settings import Settings
from projections.bulk_writer import stored_row
from tests.databases import fresh_database
from tests.harness import create_prefixed_topics, unique_prefix

PROCESSED = "SELECT count(*) FROM lif_projections.processed_events"
FILLING = "SELECT count(*) FROM lif_projections_next.case_events"
"""Events a rebuild has stored: in the schema it fills until the swap, then in the live one."""


@dataclass
class Seeded:
    size: int
    database_url: str
    seed: SeedResult


async def seeded(server_url: str, size: int) -> Seeded:
    database_url = await fresh_database(server_url, f"bench_h{size}")
    result = await asyncio.to_thread(seed_history, database_url, BENCH_KEY.encode(), size, batch_cases=100)
    return Seeded(size, database_url, result)


def _log_rows(database_url: str) -> list[tuple[Any, ...]]:
    """Every contract event of the three logs, as rows of the read model's case_events (for the COPY): the rows
    the rebuild's load stores (`stored_row`, which equal the live projector's)."""
    rows: list[tuple[Any, ...]] = []
    for _, app in open_logs(database_url):
        try:
            after = 0
            while True:
                batch, last = read_log_page(app, after, 20000)
                if last == after:
                    break
                rows.extend(stored_row(item.envelope) for item in batch)
                after = last
        finally:
            app.close()
    return rows


async def _count(database_url: str) -> int:
    """Events the rebuild has applied so far."""
    try:
        pool = await create_pool(database_url, max_size=1)
    except Exception:
        return 0
    try:
        filling = await pool.fetchval("SELECT to_regclass('lif_projections_next.case_events') IS NOT NULL")
        return int(await pool.fetchval(FILLING if filling else PROCESSED) or 0)
    except asyncpg.PostgresError:
        return 0
    finally:
        await close_pool(pool)


@dataclass
class Rebuild:
    applied: int
    seconds: float
    finished: bool
    cpu: CpuUse

    @property
    def rate(self) -> float:
        return self.applied / self.seconds if self.seconds else 0.0


async def run_rebuild(env: dict[str, str], source: str, log: Path, limit: float) -> Rebuild:
    """`lif projections rebuild --source ...` as a process; cut at `limit` seconds (then counted so far)."""
    database_url = env["DATABASE_URL"]
    # the command's CPU, with its fold workers', is counted once it has exited and been waited for
    meter = await cpu_meter({"lif projections rebuild": exited_children_cpu}, database_url)
    meter.start()
    started = time.monotonic()
    process = spawn(["projections", "rebuild", "--source", source], env, log)
    while process.poll() is None and time.monotonic() - started < limit:
        await asyncio.sleep(0.1)
    finished = process.poll() is not None
    seconds = time.monotonic() - started
    if not finished:
        await asyncio.to_thread(stop, process)
    cpu = meter.stop()
    if finished and process.returncode != 0:
        raise RuntimeError(f"rebuild failed ({process.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
    applied = await _count(database_url)
    return Rebuild(applied, seconds, finished, cpu)


async def relay_to_kafka(database_url: str, bootstrap: str, prefix: str) -> float:
    """Publish the seeded logs to this run's topics with the real outbox relay; returns the seconds it took."""
    logs = await asyncio.to_thread(open_logs, database_url)
    pool = await create_pool(database_url, max_size=2)
    producer = create_producer(bootstrap)
    await producer.start()
    started = time.monotonic()
    try:
        positions = RelayPositions(pool, INTAKE_SCHEMA)
        for (_, app), topic in zip(logs, PROJECTED_TOPICS, strict=True):
            relay = LogRelay(app, prefix + topic, producer, positions)
            while await relay.publish_pending():
                pass
        return time.monotonic() - started
    finally:
        await producer.stop()
        await close_pool(pool)
        for _, app in logs:
            app.close()


async def b3_rebuild(history: Seeded, bootstrap: str | None, work_dir: Path, limit: float) -> list[Figure]:
    rows = await asyncio.to_thread(_log_rows, history.database_url)
    raw = await copy_rows(history.database_url, rows)
    seed = history.seed
    seed_note = (
        f"seeded {seed.events} contract events ({seed.cases} cases, {len(seed.by_board)} boards) in "
        f"{seed.seconds:.1f} s ({seed.events / seed.seconds:.0f}/s): "
        + ", ".join(f"{k.split('.', 1)[1]} {v}" for k, v in sorted(seed.by_type.items()))
    )
    env = lif_env(DATABASE_URL=history.database_url)
    logs = await run_rebuild(env, "logs", work_dir / f"rebuild-logs-{history.size}.log", limit)
    figures = [_rebuild_figure(history, "from the logs", logs, raw.rate, len(rows), [seed_note])]
    if bootstrap:
        prefix = unique_prefix()
        await create_prefixed_topics(bootstrap, prefix)
        relayed = await relay_to_kafka(history.database_url, bootstrap, prefix)
        env = lif_env(DATABASE_URL=history.database_url, KAFKA_BOOTSTRAP_SERVERS=bootstrap, LIF_TOPIC_PREFIX=prefix)
        kafka = await run_rebuild(env, "kafka", work_dir / f"rebuild-kafka-{history.size}.log", limit)
        relay_note = f"the outbox relay published them in {relayed:.1f} s"
        figures.append(_rebuild_figure(history, "from Kafka", kafka, raw.rate, len(rows), [relay_note]))
    return figures


def _rebuild_figure(
    history: Seeded, source: str, rebuild: Rebuild, copy_rate: float, total: int, notes: list[str]
) -> Figure:
    done = (
        f"rebuilt all {rebuild.applied} events in {rebuild.seconds:.1f} s (wall time of the command, start-up included)"
        if rebuild.finished
        else f"CUT at {rebuild.seconds:.0f} s with {rebuild.applied} of {total} events applied "
        f"(whole rebuild would take about {total / max(rebuild.rate, 1e-9):.0f} s)"
    )
    return Figure(
        "B3",
        f"rebuild {source} at {history.size:,} events: events/s",
        "/s",
        rebuild.rate,
        copy_rate,
        "COPY of the same rows",
        target=">= 20,000/s",
        notes=[done, rebuild.cpu.note(rebuild.applied, "event", rebuild.rate), *notes],
    )


async def b4_reads(history: Seeded, work_dir: Path, seconds: float) -> list[Figure]:
    """An auditor's GETs, one at a time, on random cases of the history, against the raw SELECTs of the same rows."""
    pool = await create_pool(history.database_url, max_size=2)
    try:
        ids: list[UUID] = [r["case_id"] for r in await pool.fetch("SELECT case_id FROM lif_projections.cases")]
        if not ids:
            raise RuntimeError("the read model is empty: run B3 first (BENCH=B3,B4)")
        decided_rows = await pool.fetch("SELECT case_id FROM lif_projections.cases WHERE decision IS NOT NULL")
        decided = [r["case_id"] for r in decided_rows]
        raw = await _raw_reads(pool, ids, seconds / 4)
    finally:
        await close_pool(pool)
    from lif.admin import create_token

    auditor, _ = await create_token(Settings(database_url=history.database_url), "auditor", "region", "bench-auditor")
    env = lif_env(
        DATABASE_URL=history.database_url,
        LIF_PORT=str(free_port()),
        LIF_BOOTSTRAP_TOKEN=new_token(),
        LIF_DATA_DIR=str(work_dir / "b4-data"),
    )
    rng = random.Random(3)
    figures = []
    async with lif_server(["run"], env, work_dir / "b4-lif-run.log") as server:
        headers = {"Authorization": f"Bearer {auditor}"}
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=30.0) as client:
            # The seeded history is new to the consumers that keep no read model of their own (notifications,
            # learning): their followers work through it after start. Measure the reads once they are idle.
            settled, idle = await wait_idle(
                server.process.pid, timeout=float(os.environ.get("BENCH_IDLE_LIMIT", "600"))
            )
            settle_note = (
                f"measured after lif run's followers caught up on the history ({settled:.0f} s after start)"
                if idle
                else f"lif run was still busy {settled:.0f} s after start (followers catching up) when measured"
            )
            for path, sample in (("/v1/cases/{id}", ids), ("/v1/cases/{id}/decisions", decided or ids)):
                for case_id in sample[:20]:  # warm up: token cache, prepared statements, the pools
                    await client.get(path.replace("{id}", str(case_id)))
                latencies = []
                stop_at = time.monotonic() + seconds / 2
                while time.monotonic() < stop_at:
                    url = path.replace("{id}", str(rng.choice(sample)))
                    began = time.monotonic()
                    response = await client.get(url)
                    latencies.append(time.monotonic() - began)
                    if response.status_code != 200:
                        raise RuntimeError(f"GET {url} answered {response.status_code}: {response.text[:300]}")
                figures.append(
                    Figure(
                        "B4",
                        f"GET {path} p99 with {history.seed.events:,} events in the store",
                        "ms",
                        percentile(latencies, 0.99) * 1000,
                        raw * 1000,
                        "p99 asyncpg SELECT of the case row and its events",
                        higher_is_better=False,
                        target="<= 20 ms",
                        notes=[
                            f"{len(latencies)} sequential requests, p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
                            f"over HTTP on loopback to lif run; {len(ids)} cases in the read model",
                            settle_note,
                        ],
                    )
                )
    return figures


async def _raw_reads(pool: asyncpg.Pool, ids: list[UUID], seconds: float) -> float:
    rng = random.Random(4)
    latencies = []
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        case_id = rng.choice(ids)
        began = time.monotonic()
        await pool.fetchrow("SELECT * FROM lif_projections.cases WHERE case_id = $1", case_id)
        await pool.fetch("SELECT document FROM lif_projections.case_events WHERE case_id = $1", case_id)
        latencies.append(time.monotonic() - began)
    return percentile(latencies, 0.99)
