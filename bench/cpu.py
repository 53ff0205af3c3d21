"""Where a throughput figure's CPU goes, measured over the figure's own window.

Every process on these machines shares two cores, so a figure is bounded by the CPU each item costs in all
of them together (LIF's processes, PostgreSQL's, the load generator, Kafka). `CpuMeter` samples each group's
cumulative CPU at the start and the end of a measurement; `CpuUse.note` prints the cost per item and the
rate the machine's cores could reach at that cost, which is what bounds the figure when it is close.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import psutil

from lif.db import connect

LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}
Groups = Mapping[str, Callable[[], float]]
"""Processes as a CPU note names them, each with its probe of cumulative CPU seconds."""


def process_tree_cpu(pids: Iterable[int]) -> float:
    """CPU seconds (user + system) of the processes and their descendants, with what their exited children
    used (so a PostgreSQL backend or a worker that ends within the window still counts)."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            members = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for member in members:
            try:
                times = member.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system + times.children_user + times.children_system
    return total


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the one process, without its children's: a Python process runs its
    Python on one core at a time (the GIL), so its share of a core says whether it is the bottleneck."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def children_cpu(pid: int) -> float:
    """CPU seconds of the process's live descendants and what their exited children used."""
    try:
        children = psutil.Process(pid).children()
    except psutil.Error:
        return 0.0
    return process_tree_cpu(child.pid for child in children)


def own_cpu() -> float:
    """This process's CPU seconds: the load generator's, since the bench posts and polls from here."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def exited_children_cpu() -> float:
    """CPU seconds of this process's children that have exited and been waited for, and of theirs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_cpu() -> float:
    """Busy CPU seconds of the whole machine (every core, every process), from /proc/stat."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


async def local_postgres_pid(database_url: str) -> int | None:
    """The postmaster's pid when the server `database_url` names runs on this machine, else None."""
    parts = urlsplit(database_url)
    host = parse_qs(parts.query).get("host", [parts.hostname or ""])[0]
    if not (host.startswith("/") or host in LOCAL_HOSTS):
        return None
    connection = await connect(database_url)
    try:
        backend = int(await connection.fetchval("SELECT pg_backend_pid()"))
        return psutil.Process(backend).ppid()  # while the backend lives: it ends with the connection
    except psutil.Error:
        return None
    finally:
        await connection.close()


@dataclass
class CpuUse:
    """CPU seconds per group over one window, and the machine's busy seconds over it."""

    seconds: dict[str, float]
    machine: float
    wall: float

    def note(self, items: int, what: str, rate: float) -> str:
        """`CPU per incident: lif 8.6 ms, PostgreSQL 7.1 ms, ...; 2 cores at that cost reach at most ...`."""
        if items <= 0 or self.machine <= 0:
            return f"CPU per {what}: not measured (nothing completed)"
        cores = os.cpu_count() or 1
        named = sum(self.seconds.values())
        groups = {**self.seconds, "everything else on the machine": max(0.0, self.machine - named)}
        parts = ", ".join(f"{name} {_per_item(cpu / items)}{self._share(cpu)}" for name, cpu in groups.items())
        bound = cores * items / self.machine
        busy = self.machine / (self.wall * cores) if self.wall else 0.0
        return (
            f"CPU per {what}: {parts}; {_per_item(self.machine / items)} in all, so {cores} cores at that cost "
            f"reach at most {bound:,.0f}/s (measured {rate:,.0f}/s, the cores {busy:.0%} busy over {self.wall:.1f} s)"
        )

    def _share(self, cpu: float) -> str:
        return f" ({cpu / self.wall:.0%} of a core)" if self.wall else ""


def _per_item(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds >= 0.001 else f"{seconds * 1e6:.0f} µs"


class CpuMeter:
    """Cumulative CPU of named groups of processes, sampled when started and when stopped."""

    def __init__(self, groups: Groups) -> None:
        self.groups = dict(groups)
        self.first: dict[str, float] = {}
        self.first_machine = 0.0
        self.began = 0.0

    def start(self) -> None:
        self.first = {name: probe() for name, probe in self.groups.items()}
        self.first_machine = machine_cpu()
        self.began = time.monotonic()

    def stop(self) -> CpuUse:
        wall = time.monotonic() - self.began
        seconds = {name: max(0.0, probe() - self.first[name]) for name, probe in self.groups.items()}
        return CpuUse(seconds, machine_cpu() - self.first_machine, wall)


async def cpu_meter(groups: Groups, database_url: str) -> CpuMeter:
    """`groups`, the PostgreSQL server's processes (when it runs here) and the load generator (this process)."""
    postgres = await local_postgres_pid(database_url)
    probes = dict(groups)
    if postgres is not None:
        probes["PostgreSQL"] = lambda: process_tree_cpu([postgres])
    probes["load generator"] = own_cpu
    return CpuMeter(probes)
