"""Every `lif serve` target in the test process, over real Kafka and PostgreSQL, on a run's own topics,
each serving its HTTP app with uvicorn on its own loopback port behind one real reverse proxy (nginx).

The end-to-end modules over Kafka share this: each gets a unique topic prefix and a fresh database, so
modules never see each other's events. `Deployment.client` talks to the proxy only, as users do; a
stopped target keeps its port, so the proxy answers 503 for its routes until it is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import uvicorn

from lif.auth.service import new_service_token
from lif.infra.local_proxy import LocalProxy, free_port
from lif.runtime.distributed import Running, start_target
from lif.runtime.targets import TARGETS
from lif.settings import Settings
from tests.databases import RoleDatabase, drop_role_database, fresh_database, provisioned_database
from tests.harness import ProxyFactory, create_prefixed_topics, unique_prefix

SERVER_START_TIMEOUT = 20.0


class Deployment:
    """The targets started in this process, their HTTP servers, and an HTTP client of the reverse proxy."""

    def __init__(self, settings: Settings, proxies: ProxyFactory | None = None) -> None:
        self.ports = {target: free_port() for target in TARGETS}
        callers = (*TARGETS, "reporting")
        self.service_tokens = {service: new_service_token(service) for service in callers}
        self.settings = replace(
            settings,
            intake_url=f"http://127.0.0.1:{self.ports['intake']}",
            decisioning_url=f"http://127.0.0.1:{self.ports['decisioning']}",
            orchestration_url=f"http://127.0.0.1:{self.ports['orchestration']}",
            service_credentials=",".join(self.service_tokens.values()),
        )
        self.proxies = proxies
        self.proxy: LocalProxy | None = None
        self.running: dict[str, Running] = {}
        self.servers: dict[str, tuple[uvicorn.Server, asyncio.Task[None]]] = {}
        self.client: httpx.AsyncClient | None = None
        self.role_database: RoleDatabase | None = None
        """The provisioned database when each service has its own role (`deployed(roles=True)`)."""

    def service_url(self, target: str) -> str:
        """A service's own HTTP address (behind the proxy; internal requests go here)."""
        return f"http://127.0.0.1:{self.ports[target]}"

    def settings_for(self, target: str) -> Settings:
        """The settings `target` runs with: the shared ones, with its own service credential (the projections
        also ask learning for the reports' findings and recommendations)."""
        own = replace(self.settings, service_token=self.service_tokens[target])
        if target == "projections":
            return replace(own, learning_url=f"http://127.0.0.1:{self.ports['learning']}")
        return own

    async def start(self, *targets: str) -> None:
        """Start the targets; the web service (a client of the API through the proxy) once the proxy runs."""
        for target in targets:
            if target != "web":
                self.running[target] = await start_target(target, self.settings_for(target))
                await self._serve(target)
        if self.proxies is not None and self.proxy is None:
            upstreams = {target: f"127.0.0.1:{port}" for target, port in self.ports.items()}
            self.proxy = await asyncio.to_thread(self.proxies, upstreams)
            self.client = httpx.AsyncClient(base_url=self.proxy.url, timeout=30.0)
        if "web" in targets:
            api_url = self.proxy.url if self.proxy is not None else self.service_url("projections")
            self.running["web"] = await start_target("web", replace(self.settings, api_url=api_url))
            await self._serve("web")

    async def _serve(self, target: str) -> None:
        config = uvicorn.Config(
            self.running[target].parts["app"],
            host="127.0.0.1",
            port=self.ports[target],
            log_level="warning",
            lifespan="off",
            proxy_headers=False,  # lif.client_address reads them, as `lif serve` does
        )
        server = uvicorn.Server(config)
        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]  # signals are pytest's
        task = asyncio.create_task(server.serve(), name=f"uvicorn {target}")
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError(f"the HTTP server of {target} stopped while starting")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the HTTP server of {target} did not start in {SERVER_START_TIMEOUT}s")
            await asyncio.sleep(0.02)
        self.servers[target] = (server, task)

    async def stop(self, target: str) -> None:
        """Stop a target and its HTTP server (its port stays reserved for a restart)."""
        server, task = self.servers.pop(target)
        server.should_exit = True
        await task
        await self.running.pop(target).stop()

    async def close(self) -> None:
        if self.client:
            await self.client.aclose()
        for target in list(self.running):
            await self.stop(target)
        if self.proxy is not None:
            await asyncio.to_thread(self.proxy.stop)

    def topic(self, name: str) -> str:
        return self.settings.topic(name)


@asynccontextmanager
async def deployed(
    kafka_bootstrap: str, database_url: str, name: str, admin_token: str, proxies: ProxyFactory, *, roles: bool = False
) -> AsyncIterator[Deployment]:
    """Every target started on fresh topics and a fresh database named after `name`, behind a reverse
    proxy from `proxies` (the `reverse_proxy` fixture); stopped on exit.

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
    deployment = Deployment(settings, proxies)
    deployment.role_database = role_database
    try:
        await deployment.start(*TARGETS)
        yield deployment
    finally:
        await deployment.close()
        if role_database is not None:
            await drop_role_database(database_url, role_database)
