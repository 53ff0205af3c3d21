"""Every `lif serve` target in the test process, over real Kafka and PostgreSQL, on a run's own topics.

The end-to-end modules over Kafka share this: each gets a unique topic prefix and a fresh database, so
modules never see each other's events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from lif.runtime.distributed import Running, start_target
from lif.runtime.targets import TARGETS
from lif.settings import Settings
from tests.databases import RoleDatabase, drop_role_database, fresh_database, provisioned_database
from tests.harness import create_prefixed_topics, unique_prefix


class Deployment:
    """The targets started in this process, and an HTTP client of the `http` target."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.running: dict[str, Running] = {}
        self.client: httpx.AsyncClient | None = None
        self.role_database: RoleDatabase | None = None
        """The provisioned database when each service has its own role (`deployed(roles=True)`)."""

    async def start(self, *targets: str) -> None:
        for target in targets:
            self.running[target] = await start_target(target, self.settings)
        if "http" in targets:
            app = self.running["http"].parts["app"]
            self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lif")

    async def stop(self, target: str) -> None:
        await self.running.pop(target).stop()

    async def close(self) -> None:
        if self.client:
            await self.client.aclose()
        for target in list(self.running):
            await self.stop(target)

    def topic(self, name: str) -> str:
        return self.settings.topic(name)


@asynccontextmanager
async def deployed(
    kafka_bootstrap: str, database_url: str, name: str, admin_token: str, *, roles: bool = False
) -> AsyncIterator[Deployment]:
    """Every target started on fresh topics and a fresh database named after `name`; stopped on exit.

    With `roles`, the database is provisioned as `lif db provision` does and each service connects with
    its own role (`LIF_<SERVICE>_DATABASE_URL`); the database and the roles are dropped on exit.
    """
    prefix = unique_prefix()
    await create_prefixed_topics(kafka_bootstrap, prefix)
    options: dict[str, Any] = {
        "kafka_bootstrap": kafka_bootstrap,
        "pseudonym_key": f"{name}-test-pseudonym-key-0123456789",
        "bootstrap_token": admin_token,
        "topic_prefix": prefix,
    }
    role_database = await provisioned_database(database_url, name) if roles else None
    if role_database is not None:
        settings = role_database.settings(**options)
    else:
        settings = Settings(database_url=await fresh_database(database_url, name), **options)
    deployment = Deployment(settings)
    deployment.role_database = role_database
    try:
        await deployment.start(*TARGETS)
        yield deployment
    finally:
        await deployment.close()
        if role_database is not None:
            await drop_role_database(database_url, role_database)
