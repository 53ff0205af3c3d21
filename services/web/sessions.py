"""The web service's sessions and one-time sign-in links, in its own schema (`lif_web`).

A session maps the secret in a person's cookie to their bearer token, so every page calls the API as that
person and the API alone decides what they may see and do. The token is sealed under the cookie's secret
(lif.auth.sealed): the table holds only the secret's hash, so it cannot sign anyone in by itself.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from lif.auth.sealed import new_secret, seal, secret_id, unseal

SCHEMA = "lif_web"


@dataclass(frozen=True)
class Who:
    """Who the API says the token belongs to (`GET /v1/whoami`): for the pages' navigation only."""

    name: str
    role: str
    scope: str


@dataclass(frozen=True)
class Session:
    token: str
    csrf_token: str
    who: Who


@dataclass(frozen=True)
class Expiry:
    """A session ends after `idle` without a request, and after `absolute` whatever happens."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)


class SessionStore:
    def __init__(self, pool: asyncpg.Pool, expiry: Expiry | None = None) -> None:
        self.pool = pool
        self.expiry = expiry or Expiry()

    async def start(self, token: str, who: Who) -> str:
        """A new session for `token`; returns the secret for the cookie (stored nowhere)."""
        secret = new_secret()
        await self.pool.execute(
            f"INSERT INTO {SCHEMA}.sessions (session_hash, sealed_token, csrf_token, name, role, scope)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            secret_id(secret),
            seal(secret, token),
            secrets.token_urlsafe(24),
            who.name,
            who.role,
            who.scope,
        )
        return secret

    async def load(self, secret: str, now: datetime | None = None) -> Session | None:
        """The live session of this cookie secret (and its idle clock restarted), or None when there is none,
        it ended, or it expired."""
        now = now or datetime.now(UTC)
        row = await self.pool.fetchrow(
            f"UPDATE {SCHEMA}.sessions SET last_seen_at = $2"
            " WHERE session_hash = $1 AND ended_at IS NULL AND last_seen_at > $3 AND created_at > $4"
            " RETURNING sealed_token, csrf_token, name, role, scope",
            secret_id(secret),
            now,
            now - self.expiry.idle,
            now - self.expiry.absolute,
        )
        if row is None:
            return None
        token = unseal(secret, row["sealed_token"])
        if token is None:
            return None
        return Session(token, row["csrf_token"], Who(row["name"], row["role"], row["scope"]))

    async def end(self, secret: str) -> None:
        """Sign-out: the session is over, whatever its expiry."""
        await self.pool.execute(
            f"UPDATE {SCHEMA}.sessions SET ended_at = now() WHERE session_hash = $1 AND ended_at IS NULL",
            secret_id(secret),
        )

    async def redeem_link(self, secret: str, now: datetime | None = None) -> str | None:
        """The token of a one-time sign-in link, once: None when unknown, expired or already used."""
        now = now or datetime.now(UTC)
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT sealed_token FROM lif_access.sign_in_links WHERE link_hash = $1 AND expires_at > $2",
                secret_id(secret),
                now,
            )
            if row is None:
                return None
            first = await conn.fetchval(
                f"INSERT INTO {SCHEMA}.used_sign_in_links (link_hash) VALUES ($1)"
                " ON CONFLICT DO NOTHING RETURNING true",
                secret_id(secret),
            )
            if not first:
                return None
        return unseal(secret, row["sealed_token"])

