"""Every `lif serve` target as its own operating-system process behind one real reverse proxy (nginx), so a
test can kill -9 one service and start it again while the others run, as a deploy or a crash does.

Each process gets the environment docker-compose.yml gives its service: its own port, the shared database,
the run's topic prefix, its own service credential and the internal URLs it asks. The proxy routes to the
ports; a killed target keeps its port, so the proxy answers 503 for its routes until it is started again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from lif.auth.service import new_service_token
from lif.infra.local_proxy import LocalProxy, die_with_parent, free_port
from lif.runtime.targets import TARGETS
from lif.settings import PROJECT_ROOT

START_TIMEOUT = 120.0


class ServiceProcesses:
    """The targets' processes, their ports and logs, and the proxy in front of them."""

    def __init__(self, environment: Mapping[str, str], log_dir: Path) -> None:
        self.ports = {target: free_port() for target in TARGETS}
        self.tokens = {target: new_service_token(target) for target in TARGETS}
        self.environment = dict(environment)
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.proxy: LocalProxy | None = None
        self.starts: dict[str, int] = dict.fromkeys(TARGETS, 0)

    def service_url(self, target: str) -> str:
        return f"http://127.0.0.1:{self.ports[target]}"

    def env_for(self, target: str) -> dict[str, str]:
        return {
            **os.environ,
            **self.environment,
            "LIF_HOST": "127.0.0.1",
            "LIF_PORT": str(self.ports[target]),
            "LIF_INTAKE_URL": self.service_url("intake"),
            "LIF_DECISIONING_URL": self.service_url("decisioning"),
            "LIF_ORCHESTRATION_URL": self.service_url("orchestration"),
            "LIF_LEARNING_URL": self.service_url("learning"),
            "LIF_API_URL": self.proxy.url if self.proxy is not None else self.service_url("projections"),
            "LIF_SERVICE_TOKEN": self.tokens[target],
            "LIF_SERVICE_CREDENTIALS": ",".join(self.tokens.values()),
        }

    def log_of(self, target: str) -> Path:
        return self.log_dir / f"{target}-{self.starts[target]}.log"

    def spawn(self, target: str) -> None:
        """Start `lif serve <target>` (returns at once; `wait_ready` waits for its HTTP side)."""
        self.starts[target] += 1
        with self.log_of(target).open("wb") as log:
            self.processes[target] = subprocess.Popen(
                [sys.executable, "-m", "lif.cli", "serve", target],
                cwd=PROJECT_ROOT,
                env=self.env_for(target),
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )

    def wait_ready(self, target: str, timeout: float = START_TIMEOUT) -> None:
        """Until the target's own /healthz answers 200 (it has started every part and serves HTTP)."""
        deadline = time.monotonic() + timeout
        process = self.processes[target]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"lif serve {target} exited with {process.returncode}:\n{self.tail(target)}")
            try:
                if httpx.get(f"{self.service_url(target)}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # a process start-up: polled, nothing else to wait on
        raise TimeoutError(f"lif serve {target} did not answer /healthz in {timeout}s:\n{self.tail(target)}")

    def start(self, *targets: str) -> None:
        for target in targets:
            self.spawn(target)
        for target in targets:
            self.wait_ready(target)

    def kill(self, target: str) -> None:
        """kill -9 of the target's process: nothing of it runs its clean-up."""
        process = self.processes.pop(target)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def tail(self, target: str, size: int = 4000) -> str:
        return self.log_of(target).read_text(errors="replace")[-size:]

    def stop(self) -> None:
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()
        if self.proxy is not None:
            self.proxy.stop()
