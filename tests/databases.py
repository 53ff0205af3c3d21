"""A fresh database per test module on the session's PostgreSQL server, so modules never share state.

A fresh database is migrated (every service's migrations, as `lif migrate` applies them) unless a test asks
for an empty one: no part of LIF makes tables at start-up, so this is the one place tests get their schemas.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg

from lif.database_roles import ADMIN, OWNERS, ROLES, provision, role_name, role_url
from lif.db import create_pool
from lif.migrations import ALL, migrate
from lif.settings import DATABASE_SERVICES, Settings


async def fresh_database(server_url: str, label: str, *, migrated: bool = True) -> str:
    """Create a database on the same server, migrated unless `migrated=False`; returns its URL."""
    name = f"t_{label}_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(server_url)
    try:
        await pool.execute(f'CREATE DATABASE "{name}"')
    finally:
        await pool.close()
    parsed = urlparse(server_url)
    url = urlunparse(parsed._replace(path=f"/{name}"))
    if migrated:
        await migrate(url, ALL)
    return url


async def fetch(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    pool = await create_pool(url)
    try:
        return await pool.fetch(query, *args)
    finally:
        await pool.close()


@dataclass(frozen=True)
class RoleDatabase:
    """A fresh database provisioned with a role per service (roles named with a prefix of this run's own)."""

    admin_url: str
    prefix: str
    urls: dict[str, str]
    """The URL of each role of `lif.database_roles.ROLES`: `admin`, `intake`, ..."""

    def settings(self, **kwargs: Any) -> Settings:
        """Settings as a deployment with a role per service has them (`DATABASE_URL`: the admin role's)."""
        service_urls = {service: self.urls[OWNERS[service]] for service in DATABASE_SERVICES}
        return Settings(database_url=self.urls[ADMIN], service_database_urls=service_urls, **kwargs)


async def provisioned_database(server_url: str, label: str, *, migrated: bool = True) -> RoleDatabase:
    """A fresh database with the roles of `lif db provision`, migrated per service under each role."""
    admin_url = await fresh_database(server_url, label, migrated=False)
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    passwords = {role: f"pw-{uuid.uuid4().hex[:12]}" for role in ROLES}
    done = await provision(admin_url, prefix=prefix, passwords=passwords)
    urls = {role: role_url(admin_url, done.roles[role], passwords[role]) for role in ROLES}
    if migrated:
        for migration_set in ALL:
            await migrate(urls[OWNERS[migration_set.service]], [migration_set])
    return RoleDatabase(admin_url, prefix, urls)


async def drop_role_database(server_url: str, database: RoleDatabase) -> None:
    """Drop the database and then its roles (roles are cluster-wide and would outlive the run)."""
    name = urlparse(database.admin_url).path.lstrip("/")
    pool = await create_pool(server_url)
    try:
        await pool.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for role in ROLES:
            await pool.execute(f'DROP ROLE IF EXISTS "{role_name(role, database.prefix)}"')
    finally:
        await pool.close()
