"""A real Apache Kafka broker on loopback, for tests and local runs on machines without Docker.

This is a thin wrapper over `deploy/local/kafka.sh`, which owns the details (jars from Maven Central,
KRaft formatting, ports, pid files); keeping one implementation lets `make run` and the test harness
start the broker the same way.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path
from types import TracebackType

from aiokafka.admin import AIOKafkaAdminClient

REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_SCRIPT = REPO_ROOT / "deploy" / "local" / "kafka.sh"


class LocalKafkaError(RuntimeError):
    """The broker could not be fetched, started or stopped; the message carries the script's output."""


class LocalKafka:
    """One broker started in a data folder by `deploy/local/kafka.sh`.

    `watch_pid` asks the script to stop the broker when that process exits, so a test session that is
    killed before its teardown does not leave a java process behind.
    """

    def __init__(
        self,
        *,
        script: Path = KAFKA_SCRIPT,
        port: int | None = None,
        watch_pid: int | None = None,
        start_timeout: float = 60.0,
        stop_timeout: float | None = None,
        command_timeout: float = 900.0,
    ) -> None:
        """`stop_timeout`: how long `stop` waits for a graceful shutdown before SIGKILL (0: kill at once, for a
        broker whose data is thrown away; None: the script's default)."""
        self.script = script
        self.port = port
        self.watch_pid = watch_pid
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.command_timeout = command_timeout
        self.data_dir: Path | None = None
        self.bootstrap: str | None = None

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["KAFKA_START_TIMEOUT"] = str(int(self.start_timeout))
        if self.stop_timeout is not None:
            env["KAFKA_STOP_TIMEOUT"] = str(int(self.stop_timeout))
        if self.port is not None:
            env["KAFKA_PORT"] = str(self.port)
        if self.watch_pid is not None:
            env["KAFKA_WATCH_PID"] = str(self.watch_pid)
        return env

    def _run(self, *args: str) -> str:
        """Run the script; return its stdout, raise LocalKafkaError with its stderr on failure."""
        try:
            result = subprocess.run(
                ["bash", str(self.script), *args],
                env=self._env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=self.command_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise LocalKafkaError(f"kafka.sh {' '.join(args)} timed out after {exc.timeout} s") from exc
        if result.returncode != 0:
            raise LocalKafkaError(
                f"kafka.sh {' '.join(args)} failed (exit {result.returncode}):\n{result.stderr[-4000:]}"
            )
        return result.stdout

    def fetch(self) -> None:
        """Download the broker jars into the cache (a no-op once they are there)."""
        self._run("fetch")

    def start(self, data_dir: str | os.PathLike[str]) -> str:
        """Start the broker in `data_dir` (created if needed) and return its bootstrap address.

        Returns once the port accepts connections; call `wait_for_metadata` before relying on it.
        """
        path = Path(data_dir)
        path.mkdir(parents=True, exist_ok=True)
        try:
            lines = self._run("start", str(path)).strip().splitlines()
            if not lines:
                raise LocalKafkaError("kafka.sh start printed no bootstrap address")
        except BaseException:
            # A start cut short (timeout, interrupt) may have left a broker behind: stop it by its pid.
            try:
                self._run("stop", str(path))
            except LocalKafkaError:
                pass
            raise
        self.data_dir = path
        self.bootstrap = lines[-1].strip()
        return self.bootstrap

    def stop(self) -> None:
        """Stop the broker by its pid and wait for it to exit (safe to call twice)."""
        if self.data_dir is None:
            return
        self._run("stop", str(self.data_dir))
        self.data_dir = None
        self.bootstrap = None

    def __enter__(self) -> LocalKafka:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


async def wait_for_metadata(bootstrap: str, timeout: float = 60.0) -> dict[str, object]:
    """Poll a real metadata request until the broker answers it with at least one broker.

    An open port is not yet a working broker (KRaft registration follows the listener); this is the
    readiness check the tests and services can trust. Returns the `describe_cluster` answer.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"Kafka at {bootstrap} answered no metadata request in {timeout} s: {last_error!r}")
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="lif-wait-for-metadata",
            request_timeout_ms=max(1000, int(min(remaining, 10.0) * 1000)),
        )
        try:
            await asyncio.wait_for(admin.start(), timeout=remaining)
            left = max(0.1, deadline - time.monotonic())
            cluster: dict[str, object] = await asyncio.wait_for(admin.describe_cluster(), timeout=left)
            if cluster.get("brokers"):
                return cluster
            last_error = RuntimeError("metadata lists no broker yet")
        except Exception as exc:  # any failure means "not ready yet" until the deadline
            last_error = exc
        finally:
            try:
                await admin.close()
            except Exception as exc:  # closing a half-started client may fail; keep the first error
                last_error = last_error or exc
        await asyncio.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
