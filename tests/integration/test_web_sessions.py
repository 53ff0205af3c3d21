"""The web service's sessions on a real PostgreSQL: idle and absolute expiry, sign-out, and a sign-in link
that works once and only before it expires."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from lif.auth.sign_in_links import create_sign_in_link
from lif.db import create_pool
from services.web.sessions import Expiry, SessionStore, Who
from tests.databases import fresh_database

pytestmark = [pytest.mark.integration]
WHO = Who("jo", "business_manager", "BOL")


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(await fresh_database(database_url, "websessions"))
    yield pool
    await pool.close()


async def test_a_session_expires_when_idle_and_after_its_absolute_limit(pool: asyncpg.Pool) -> None:
    store = SessionStore(pool, Expiry(idle=timedelta(minutes=30), absolute=timedelta(hours=12)))
    secret = await store.start("lif_token", WHO)
    stored = await pool.fetchrow("SELECT * FROM lif_web.sessions")
    assert b"lif_token" not in stored["sealed_token"] and secret.encode() not in stored["session_hash"]
    now = datetime.now(UTC)
    live = await store.load(secret, now + timedelta(minutes=20))
    assert live is not None and live.token == "lif_token" and live.who == WHO
    # Each request restarts the idle clock, but not the absolute one.
    assert await store.load(secret, now + timedelta(minutes=45)) is not None
    assert await store.load(secret, now + timedelta(minutes=80)) is None
    other = await store.start("lif_token", WHO)
    for step in range(1, 28):  # used every 25 minutes for 11 h 15 min: never idle
        assert await store.load(other, now + timedelta(minutes=25 * step)) is not None
    assert await store.load(other, now + timedelta(hours=12, minutes=1)) is None
    assert await store.load("not-a-session") is None


async def test_signing_out_ends_the_session(pool: asyncpg.Pool) -> None:
    store = SessionStore(pool)
    secret = await store.start("lif_token", WHO)
    await store.end(secret)
    assert await store.load(secret) is None


async def test_a_sign_in_link_works_once_and_not_after_it_expires(pool: asyncpg.Pool) -> None:
    store = SessionStore(pool)
    link = await create_sign_in_link(pool, "lif_token", "jo")
    assert await store.redeem_link(link) == "lif_token"
    assert await store.redeem_link(link) is None
    late = await create_sign_in_link(pool, "lif_token", "jo", valid_for=timedelta(minutes=15))
    assert await store.redeem_link(late, datetime.now(UTC) + timedelta(minutes=16)) is None
    assert await store.redeem_link(late) == "lif_token"  # the late attempt did not use it up
    assert await store.redeem_link("never-issued") is None
