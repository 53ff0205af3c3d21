"""Start-ups that meet a database not up yet, migrations not applied yet, or no broker: they wait and retry
(logged, bounded by LIF_STARTUP_TIMEOUT), start once the cause has passed, and otherwise give up with one line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlparse, urlunparse

import httpx
import pytest

from lif.migrations import ALL, migrate
from lif.runtime.distributed import Running, start_target
from lif.runtime.startup import DatabaseRefused, StartupFailed, start_with_retry
from lif.settings import Settings
from tests.databases import fresh_database
from tests.harness import create_prefixed_topics, unique_prefix

pytestmark = [pytest.mark.integration]

KEY = "startup-test-pseudonym-key-0123456789"
ADMIN = "startup-test-admin-token-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proxy:
    """A TCP front for the session's PostgreSQL that answers only once started: a database that comes up late."""

    def __init__(self, server_url: str, port: int) -> None:
        parsed = urlparse(server_url)
        host = parse_qs(parsed.query).get("host", [parsed.hostname or "127.0.0.1"])[0]
        server_port = parsed.port or 5432
        self.target = (f"{host}/.s.PGSQL.{server_port}", None) if host.startswith("/") else (host, server_port)
        self.port = port
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        path, port = self.target
        if port is None:
            return await asyncio.open_unix_connection(path)
        return await asyncio.open_connection(path, port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await self._open()
        self.writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for writer in self.writers:
                writer.close()
            await self.server.wait_closed()


def through(url: str, port: int) -> str:
    """`url`'s database, reached over TCP at 127.0.0.1:`port`."""
    parsed = urlparse(url)
    credentials = f"{parsed.username or 'postgres'}:{parsed.password or ''}"
    return urlunparse(parsed._replace(netloc=f"{credentials}@127.0.0.1:{port}", query=""))


def settings_for(url: str, **changes: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url,
        "pseudonym_key": KEY,
        "bootstrap_token": ADMIN,
        "kafka_bootstrap": None,
        "startup_timeout": 60.0,
        "decisioning_url": "http://127.0.0.1:9",  # the read model asks decisioning only for an audit's texts
        "service_token": "projections.startup-test-credential",
    }
    return Settings(**(values | changes))  # type: ignore[arg-type]


async def wait_for_record(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in record.getMessage() for record in caplog.records):
        assert time.monotonic() < deadline, f"no log record with {text!r}"
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def stopped_on_exit(task: asyncio.Task[Running]) -> AsyncIterator[asyncio.Task[Running]]:
    try:
        yield task
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(BaseException):
            await (await task).stop()


async def healthz(running: Running) -> dict[str, str]:
    transport = httpx.ASGITransport(app=running.parts["app"])
    async with httpx.AsyncClient(transport=transport, base_url="http://lif") as client:
        return (await client.get("/healthz")).json()  # type: ignore[no-any-return]


async def on_own_topics(kafka_bootstrap: str) -> dict[str, object]:
    """Settings changes for a target that consumes: the broker, and topics of this test's own."""
    prefix = unique_prefix()
    await create_prefixed_topics(kafka_bootstrap, prefix)
    return {"kafka_bootstrap": kafka_bootstrap, "topic_prefix": prefix}


async def test_a_start_up_with_the_database_down_retries_until_it_comes_up(
    database_url: str, kafka_bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="lif.runtime.startup")
    url = await fresh_database(database_url, "startup_down")
    proxy = Proxy(url, free_port())
    settings = settings_for(through(url, proxy.port), **await on_own_topics(kafka_bootstrap))
    start = asyncio.create_task(
        start_with_retry(lambda: start_target("projections", settings), what="lif serve projections", timeout=60)
    )
    try:
        async with stopped_on_exit(start):
            await wait_for_record(caplog, "PostgreSQL does not answer")
            assert not start.done()
            await proxy.start()  # the database comes up
            async with asyncio.timeout(60):
                running = await start
            assert await healthz(running) == {"status": "ok"}
    finally:
        await proxy.stop()
    retries = [r.getMessage() for r in caplog.records if "start-up attempt" in r.getMessage()]
    assert retries and all("retrying in" in message for message in retries)


async def test_a_target_started_before_the_migrations_waits_for_them(
    database_url: str, kafka_bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="lif.runtime.startup")
    url = await fresh_database(database_url, "startup_unmigrated", migrated=False)
    settings = settings_for(url, **await on_own_topics(kafka_bootstrap))
    start = asyncio.create_task(
        start_with_retry(lambda: start_target("projections", settings), what="lif serve projections", timeout=60)
    )
    async with stopped_on_exit(start):
        await wait_for_record(caplog, "the database lacks migrations")
        assert not start.done()
        await migrate(url, ALL)
        async with asyncio.timeout(60):
            running = await start
        assert await healthz(running) == {"status": "ok"}
    assert any("run `lif migrate`" in r.getMessage() for r in caplog.records)


async def test_a_start_up_without_a_broker_gives_up_at_its_deadline_and_leaves_nothing_running(
    database_url: str,
) -> None:
    url = await fresh_database(database_url, "startup_no_kafka")
    settings = settings_for(url, kafka_bootstrap=f"127.0.0.1:{free_port()}")
    tasks_before = asyncio.all_tasks()
    started = time.monotonic()
    with pytest.raises(StartupFailed, match=r"lif serve intake: could not start within 3s .*Kafka"):
        await start_with_retry(lambda: start_target("intake", settings), what="lif serve intake", timeout=3)
    assert time.monotonic() - started < 30
    leftover = {t for t in asyncio.all_tasks() - tasks_before if not t.done() and "relay" in t.get_name()}
    assert leftover == set(), "a failed start-up left its relay running"


def test_lif_serve_gives_up_with_one_clear_line(database_url: str) -> None:
    """No database at all: `lif serve projections` retries, then exits 1 with the reason and no traceback."""
    url = f"postgresql://postgres:@127.0.0.1:{free_port()}/lif"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "lif.cli", "serve", "projections"],
        env={**os.environ, "DATABASE_URL": url, "LIF_PSEUDONYM_KEY": KEY, "LIF_STARTUP_TIMEOUT": "2"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert time.monotonic() - started < 50
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("lif: lif serve projections: could not start within 2s")
    assert "PostgreSQL does not answer" in lines[-1]
    assert any("retrying in" in line for line in lines[:-1])


async def test_a_database_that_refuses_stops_the_start_up_at_once(database_url: str) -> None:
    """A database that does not exist will not appear by waiting: no retries, one clear reason."""
    parsed = urlparse(database_url)
    missing = urlunparse(parsed._replace(path="/no_such_database_for_lif"))
    started = time.monotonic()
    with pytest.raises(DatabaseRefused, match=r"does not exist.*check DATABASE_URL"):
        await start_with_retry(
            lambda: start_target("projections", settings_for(missing)), what="lif serve projections", timeout=60
        )
    assert time.monotonic() - started < 10
