"""B5: `lif run` as `make run` runs it (installed, embedded PostgreSQL): seconds to /healthz, and memory."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

from bench.cpu import process_tree_cpu
from bench.processes import free_port, lif_env, spawn, stop, tree_rss, wait_healthy, wait_idle
from bench.report import Figure
from lif.infra.local_postgres import LocalPostgres


def _postgres_rss(data_dir: Path) -> int:
    """The embedded server runs detached from `lif run` (pg_ctl daemonises it): find it by its pid file."""
    pid_file = data_dir / "embedded" / "postgres" / "postmaster.pid"
    try:
        return tree_rss(int(pid_file.read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        return 0


async def _start_once(data_dir: Path, log: Path) -> tuple[float, int, int, float]:
    """Seconds to /healthz, RSS of lif and of PostgreSQL, and lif's idle CPU share over 3 s."""
    port = free_port()
    env = lif_env(LIF_PORT=str(port), LIF_DATA_DIR=str(data_dir))
    process = spawn(["run"], env, log)
    try:
        seconds = await wait_healthy(f"http://127.0.0.1:{port}", process, log)
        await wait_idle(process.pid, timeout=60.0)  # start-up done, the second process too, if there is one
        lif_rss, pg_rss = tree_rss(process.pid), _postgres_rss(data_dir)
        before = process_tree_cpu([process.pid])
        await asyncio.sleep(3.0)  # the measurement's window: the share of a core used while idle
        idle_cpu = (process_tree_cpu([process.pid]) - before) / 3.0 * 100
        return seconds, lif_rss, pg_rss, idle_cpu
    finally:
        await asyncio.to_thread(stop, process)


def _bare_postgres(folder: Path) -> float:
    """What no LIF code can beat: the embedded server's own first start and stop."""
    shutil.rmtree(folder, ignore_errors=True)
    started = time.monotonic()
    server = LocalPostgres(folder, delete_on_stop=True)
    try:
        server.start()
        return time.monotonic() - started
    finally:
        server.stop()


async def b5_startup(work_dir: Path) -> list[Figure]:
    data_dir = work_dir / "b5-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    first = await _start_once(data_dir, work_dir / "b5-first.log")
    again = await _start_once(data_dir, work_dir / "b5-again.log")
    bare = await asyncio.to_thread(_bare_postgres, work_dir / "b5-bare-postgres")
    mib = 1024 * 1024
    figures = []
    for label, (seconds, lif_rss, pg_rss, idle) in (("first start", first), ("later start", again)):
        figures.append(
            Figure(
                "B5",
                f"lif run, {label}: seconds to answer /healthz",
                "s",
                seconds,
                bare,
                "embedded PostgreSQL initdb + start alone",
                higher_is_better=False,
                target="< 5 s",
                notes=[
                    f"resident memory (PSS): lif {lif_rss / mib:.0f} MiB + PostgreSQL {pg_rss / mib:.0f} MiB "
                    f"= {(lif_rss + pg_rss) / mib:.0f} MiB; idle lif (every process of it): {idle:.0f}% of a core"
                ],
            )
        )
    shutil.rmtree(data_dir, ignore_errors=True)
    return figures
