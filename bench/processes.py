"""`lif` commands as the user runs them (the installed entry point in their own processes), for measuring."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from bench.cpu import process_tree_cpu

REPO_ROOT = Path(__file__).resolve().parents[1]
LIF = Path(sys.executable).with_name("lif")
BENCH_KEY = "bench-pseudonym-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_token() -> str:
    return "lif_bench_" + secrets.token_urlsafe(24)


@dataclass
class LifProcess:
    """A running `lif ...` process, with the base URL of its HTTP server when it has one."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def tree_rss(self) -> int:
        """Resident memory of the process and its children (bytes)."""
        return tree_rss(self.process.pid)


def tree_rss(pid: int) -> int:
    """Proportional set size (PSS) summed over the tree, so shared pages (PostgreSQL's buffers) count once."""
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for member in members:
        with contextlib.suppress(psutil.NoSuchProcess):
            try:
                total += member.memory_full_info().pss
            except (psutil.AccessDenied, AttributeError):
                total += member.memory_info().rss
    return total


def lif_env(**values: str | None) -> dict[str, str]:
    """The environment for a `lif` process: ours minus what the bench sets, plus `values` (None removes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIF_") and k not in ("DATABASE_URL",)}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env["LIF_PSEUDONYM_KEY"] = BENCH_KEY
    for key, value in values.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def spawn(args: list[str], env: Mapping[str, str], log: Path, program: Path = LIF) -> subprocess.Popen[bytes]:
    """`lif <args>` (or `program <args>`) from the repository's root, its output to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(program), *args],
            env=dict(env),
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def wait_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> float:
    """Seconds until GET /healthz answers 200; raises if the process exits or the deadline passes."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as client:
        while time.monotonic() - started < timeout:
            if process.poll() is not None:
                raise RuntimeError(f"lif exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/healthz")).status_code == 200:
                    return time.monotonic() - started
            await asyncio.sleep(0.02)
    raise TimeoutError(f"{base_url}/healthz did not answer in {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


async def wait_idle(
    pid: int, *, below: float = 0.05, window: float = 2.0, timeout: float = 900.0
) -> tuple[float, bool]:
    """Wait until the process and its children use less than `below` of a core over `window` seconds (the
    followers have caught up); returns (seconds waited, whether it went idle before `timeout`)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = process_tree_cpu([pid])
        await asyncio.sleep(window)
        if process_tree_cpu([pid]) - before < below * window:
            return time.monotonic() - started, True
    return time.monotonic() - started, False


def stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGINT (as Ctrl-C), then SIGKILL if it does not exit in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.asynccontextmanager
async def lif_server(
    args: list[str], env: Mapping[str, str], log: Path, program: Path = LIF
) -> AsyncIterator[LifProcess]:
    """`lif run` or `lif serve http` (or `program <args>`) on `env["LIF_PORT"]`, once it answers /healthz;
    stopped on exit."""
    base_url = f"http://127.0.0.1:{env['LIF_PORT']}"
    process = spawn(args, env, log, program)
    try:
        await wait_healthy(base_url, process, log)
        yield LifProcess(process, base_url, log)
    finally:
        await asyncio.to_thread(stop, process)


@contextlib.asynccontextmanager
async def lif_workers(
    targets: list[str], envs: Mapping[str, Mapping[str, str]], log_dir: Path
) -> AsyncIterator[list[int]]:
    """`lif serve <target>` for each target, each with its own environment (its own `LIF_PORT`), until
    each answers /healthz on its port."""
    processes = [(t, spawn(["serve", t], envs[t], log_dir / f"serve-{t}.log")) for t in targets]
    try:
        for target, process in processes:
            log = log_dir / f"serve-{target}.log"
            await wait_healthy(f"http://127.0.0.1:{envs[target]['LIF_PORT']}", process, log)
        yield [p.pid for _, p in processes]
    finally:
        for _, process in processes:
            await asyncio.to_thread(stop, process)
