"""B1 (embedded, `lif run`) and B2 (distributed, `lif serve` per target over Kafka): HTTP in to the board's view."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.baselines import kafka_produce_consume, single_row_inserts
from bench.cpu import CpuMeter, CpuUse, Groups, children_cpu, cpu_meter, own_cpu, process_cpu, process_tree_cpu
from bench.http_client import KeepAliveClient
from bench.load import Latency, Notifications, Throughput, closed_loop, open_loop, post, post_back_to_back, warm_up
from bench.processes import free_port, lif_env, lif_server, lif_workers, new_token
from bench.report import Figure, percentile
from lif.auth.service import new_service_token
from lif.db import close_pool, create_pool
from lif.infra.local_proxy import LocalProxy, ensure_nginx
from lif.runtime.targets import TARGETS
from tests.databases import fresh_database
from tests.harness import create_prefixed_topics, unique_prefix

CONCURRENCY = 16


@dataclass
class Options:
    seconds: float
    work_dir: Path
    concurrency: int = CONCURRENCY


def lif_run_groups(pid: int) -> Groups:
    """`lif run`'s first process (HTTP, decisioning, orchestration) apart from its second (`lif consume`)."""
    return {"lif run's first process": lambda: process_cpu(pid), "its second (lif consume)": lambda: children_cpu(pid)}


async def measure_lif(
    base_url: str, token: str, database_url: str, options: Options, lif: Groups
) -> tuple[Throughput, Latency]:
    meter = await cpu_meter(lif, database_url)
    pool = await create_pool(database_url, max_size=2)
    notifications = Notifications()
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with KeepAliveClient(base_url, headers, timeout=60.0) as client:
            await warm_up(client, pool, notifications, timeout=60)
            throughput = await closed_loop(
                client, pool, notifications, concurrency=options.concurrency, seconds=options.seconds, meter=meter
            )
            half = max(1.0, throughput.end_to_end_rate / 2)
            latency = await open_loop(client, pool, notifications, rate=half, seconds=options.seconds, meter=meter)
        return throughput, latency
    finally:
        await close_pool(pool)


def _figures(
    key: str, name: str, throughput: Throughput, latency: Latency, baseline: float, baseline_name: str, extra: list[str]
) -> list[Figure]:
    notes = [
        f"{throughput.accepted} incidents accepted over HTTP at {throughput.http_rate:.1f}/s by "
        f"{CONCURRENCY} clients; {throughput.visible} visible with their recommendation after "
        f"{throughput.seconds_to_visible:.1f} s" + ("" if throughput.complete else " (NOT all within the wait)"),
        *extra,
    ]
    if throughput.cpu is not None:
        notes.append(throughput.cpu.note(throughput.visible, "incident", throughput.end_to_end_rate))
    if throughput.errors:
        notes.append(f"{len(throughput.errors)} errors, first: {throughput.errors[0]}")
    rate = Figure(
        key,
        f"{name}: incidents/s, HTTP in -> recommendation in the board view",
        "/s",
        throughput.end_to_end_rate,
        baseline,
        baseline_name,
        target=">= 0.30x",
        notes=notes,
    )
    p99 = Figure(
        key,
        f"{name}: p99 POST -> recommendation visible at {latency.rate:.0f}/s (half the max)",
        "ms",
        latency.p99_ms,
        None,
        "",
        higher_is_better=False,
        target="<= 250 ms",
        notes=[
            f"p50 {latency.p50_ms:.0f} ms; {latency.seen} of {latency.sent} seen (read model polled every 10 ms)",
            *([latency.cpu.note(latency.seen, "incident", latency.rate)] if latency.cpu is not None else []),
        ],
    )
    return [rate, p99]


async def b1_embedded(server_url: str, options: Options) -> list[Figure]:
    """`lif run` on a fresh database over loopback HTTP, against autocommit single-row INSERTs."""
    database_url = await fresh_database(server_url, "bench_b1")
    raw_meter = await cpu_meter({}, database_url)
    raw_meter.start()
    one = await single_row_inserts(database_url, connections=1, seconds=options.seconds)
    raw_cpu = raw_meter.stop()
    sixteen = await single_row_inserts(database_url, connections=16, seconds=options.seconds)
    token = new_token()
    env = lif_env(
        DATABASE_URL=database_url,
        LIF_PORT=str(free_port()),
        LIF_BOOTSTRAP_TOKEN=token,
        LIF_DATA_DIR=str(options.work_dir / "b1-data"),
    )
    async with lif_server(["run"], env, options.work_dir / "b1-lif-run.log") as server:
        throughput, latency = await measure_lif(
            server.base_url, token, database_url, options, lif_run_groups(server.process.pid)
        )
    floor_answered, floor_cpu = await http_floor(options)
    floor_rate = floor_answered / floor_cpu.wall
    figures = _figures(
        "B1",
        "embedded (lif run)",
        throughput,
        latency,
        one.rate,
        "asyncpg INSERT autocommit, 1 connection",
        [
            f"raw INSERT on 16 connections: {sixteen.rate:.0f}/s "
            f"(LIF / that = {throughput.end_to_end_rate / sixteen.rate:.3f}x)",
            "the raw baseline's " + raw_cpu.note(one.count, "INSERT", one.rate),
        ],
    )
    figures[1].baseline = percentile(one.latencies, 0.99) * 1000
    figures[1].baseline_name = "p99 of one raw INSERT commit"
    target = 0.30 * one.rate
    floor = Figure(
        "B1",
        "HTTP floor: POST /v1/incidents on LIF's HTTP stack, validated and answered, nothing else: requests/s",
        "/s",
        floor_rate,
        one.rate,
        "asyncpg INSERT autocommit, 1 connection",
        notes=[
            f"FastAPI on uvicorn (httptools, uvloop), the same request model and client, {CONCURRENCY} clients, "
            "no token check, nothing stored (bench/http_floor.py)",
            floor_cpu.note(floor_answered, "request", floor_rate),
            f"B1's target (0.30x) is {target:,.0f} incidents/s, {target / floor_rate:.2f}x this floor; "
            f"LIF end to end reached {throughput.end_to_end_rate / floor_rate:.2f}x it",
        ],
    )
    return [*figures, floor]


async def http_floor(options: Options) -> tuple[int, CpuUse]:
    """Requests `bench.http_floor` answered under the closed loop's clients, and the CPU they cost."""
    env = lif_env(LIF_PORT=str(free_port()))
    log = options.work_dir / "http-floor.log"
    async with lif_server(["-m", "bench.http_floor"], env, log, program=Path(sys.executable)) as server:
        pid = server.process.pid
        meter = CpuMeter({"HTTP floor server": lambda: process_cpu(pid), "load generator": own_cpu})
        notifications = Notifications(rng_seed=2)
        async with KeepAliveClient(server.base_url, {"Authorization": "Bearer unchecked"}) as client:
            for _ in range(CONCURRENCY):
                await post(client, notifications.next())
            errors: list[str] = []
            meter.start()
            answered = await post_back_to_back(
                client, notifications, concurrency=CONCURRENCY, seconds=options.seconds, errors=errors
            )
            used = meter.stop()
    if errors:
        raise RuntimeError(f"the HTTP floor answered {len(errors)} errors, first: {errors[0]}")
    return len(answered), used


async def b2_distributed(server_url: str, bootstrap: str, options: Options) -> list[Figure]:
    """Every `lif serve` target as its own process over Kafka, against raw aiokafka produce-to-consume."""
    raw_prefix = unique_prefix()
    await create_prefixed_topics(bootstrap, raw_prefix)
    raw_topic = raw_prefix + "lif.intake.v1"
    raw16 = await kafka_produce_consume(bootstrap, raw_topic, in_flight=CONCURRENCY, seconds=options.seconds)
    raw1 = await kafka_produce_consume(bootstrap, raw_topic, in_flight=1, seconds=options.seconds)

    database_url = await fresh_database(server_url, "bench_b2")
    prefix = unique_prefix()
    await create_prefixed_topics(bootstrap, prefix)
    token = new_token()
    targets = [target for target in TARGETS if target != "web"]  # the pages are no part of an incident's path
    ports = {target: free_port() for target in targets}
    credentials = {target: new_service_token(target) for target in targets}
    env = lif_env(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        LIF_TOPIC_PREFIX=prefix,
        LIF_BOOTSTRAP_TOKEN=token,
        LIF_INTAKE_URL=f"http://127.0.0.1:{ports['intake']}",
        LIF_DECISIONING_URL=f"http://127.0.0.1:{ports['decisioning']}",
        LIF_ORCHESTRATION_URL=f"http://127.0.0.1:{ports['orchestration']}",
        LIF_SERVICE_CREDENTIALS=",".join(credentials.values()),
    )
    envs = {
        target: {**env, "LIF_PORT": str(port), "LIF_SERVICE_TOKEN": credentials[target]}
        for target, port in ports.items()
    }
    envs["projections"]["LIF_LEARNING_URL"] = f"http://127.0.0.1:{ports['learning']}"
    started = time.monotonic()
    async with lif_workers(targets, envs, options.work_dir) as pids:
        upstreams = {target: f"127.0.0.1:{port}" for target, port in ports.items()}
        upstreams["web"] = "127.0.0.1:9"  # not started: the proxy's page routes answer 503, none is asked
        with LocalProxy(upstreams, binary=ensure_nginx()) as proxy:
            boot = time.monotonic() - started
            throughput, latency = await measure_lif(
                proxy.url,
                token,
                database_url,
                options,
                {f"lif ({len(pids)} processes)": lambda: process_tree_cpu(pids)},
            )
    return _figures(
        "B2",
        f"distributed ({len(targets)} x lif serve behind nginx, Kafka)",
        throughput,
        latency,
        raw16.rate,
        f"aiokafka acks=all produce->consume, {CONCURRENCY} in flight",
        [
            f"raw produce->consume with 1 in flight: {raw1.rate:.0f}/s; "
            f"the {len(targets)} processes and the proxy took {boot:.1f} s to start"
        ],
    )
