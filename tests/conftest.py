"""Session-wide fixtures: one real Kafka broker and one real PostgreSQL for the whole test run, and the
reverse proxy (real nginx) in front of whatever upstreams a test gives it.

The session fixtures are synchronous (they manage subprocesses and run their async setup with
`asyncio.run`), so they need no event loop of their own. See `tests/harness.py` for where the
services come from and how an unavailable service fails (CI) or skips (elsewhere).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.databases import RoleDatabase, drop_role_database, provisioned_database
from tests.harness import (
    ProxyFactory,
    create_prefixed_topics,
    kafka_service,
    postgres_service,
    proxy_service,
    start_kafka_early,
    stop_early_kafka,
    unique_prefix,
)

__all__ = ["create_prefixed_topics"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers here too, so they exist whatever configuration file is in use."""
    config.addinivalue_line("markers", "integration: needs real Kafka and/or PostgreSQL")
    config.addinivalue_line("markers", "e2e: end to end through the whole system")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Begin getting the broker ready at once when a selected test will need it, so the tests before it run
    meanwhile."""
    if any("kafka_bootstrap" in getattr(item, "fixturenames", ()) for item in items):
        start_kafka_early()


def pytest_sessionfinish() -> None:
    stop_early_kafka()  # begun but never asked for (the tests that needed it were not run)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of the session's broker; the topics of deploy/topics.json exist on it."""
    with kafka_service() as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """`DATABASE_URL` of the session's PostgreSQL."""
    with postgres_service() as url:
        yield url


@pytest.fixture(scope="module")
def role_database(database_url: str) -> Iterator[RoleDatabase]:
    """A fresh database provisioned as `lif db provision` does, migrated per service under each role.

    The roles are cluster-wide, so their names carry a prefix of this module's own (the server may be
    shared with other runs); the database and the roles are dropped afterwards.
    """
    database = asyncio.run(provisioned_database(database_url, "roles"))
    try:
        yield database
    finally:
        asyncio.run(drop_role_database(database_url, database))


@pytest.fixture(scope="session")
def reverse_proxy() -> Iterator[ProxyFactory]:
    """Starts Debian's nginx as the reverse proxy in front of given upstreams; every one is stopped at the end."""
    with proxy_service() as start:
        yield start


@pytest.fixture
def topic_prefix() -> str:
    """A unique short prefix for this test's own topics and consumer groups."""
    return unique_prefix()
