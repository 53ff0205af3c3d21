"""Access tokens: issued, looked up and revoked in PostgreSQL, with only their SHA-256 hash stored.

A leaked copy of the table therefore yields no usable token. Tokens are random (`secrets`), so an
unsalted fast hash is enough: there is nothing to guess. The `LIF_BOOTSTRAP_TOKEN` environment variable
gives a first admin a way in before any token exists.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Annotated, Any

import asyncpg
from pydantic import Field, TypeAdapter, ValidationError

from events.fields import Line
from lif.auth.principal import REGION, Principal, Role, check_role_scope, parse_role

TOKEN_PREFIX = "lif_"  # noqa: S105 - a public prefix, not a secret
"""Marks LIF tokens so that they are recognisable in logs and by secret scanners."""

BOOTSTRAP_NAME = "bootstrap"
_TOKEN_NAME: TypeAdapter[str] = TypeAdapter(Annotated[Line, Field(min_length=1, max_length=200)])
BOOTSTRAP_ENV = "LIF_BOOTSTRAP_TOKEN"
DEFAULT_SCHEMA = "lif_access"

_SCHEMA_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MAX_TOKEN_LENGTH = 512  # far above any real token; refuses absurd headers before hashing them


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored in place of `token`."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AuthError(Exception):
    """The caller could not be authenticated; HTTP layers answer 401 with `detail`."""

    status_code = 401

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class TokenStore:
    """Tokens in table `<schema>.tokens` of an asyncpg pool (made by the access migrations in `lif_access`)."""

    def __init__(self, pool: asyncpg.Pool, schema: str = DEFAULT_SCHEMA) -> None:
        if not _SCHEMA_PATTERN.match(schema):
            # The schema name is put into SQL text, so it must be a plain identifier.
            raise ValueError(f"invalid schema name {schema!r}: use lowercase letters, digits and _")
        self._pool = pool
        self.schema = schema
        self._table = table = f"{schema}.tokens"
        # SQL text with the (validated) table name in it, built once.
        self._insert_sql = f"INSERT INTO {table} (id, name, role, scope, token_hash) VALUES ($1, $2, $3, $4, $5)"
        self._lookup_sql = f"SELECT name, role, scope FROM {table} WHERE token_hash = $1 AND revoked_at IS NULL"
        self._revoke_sql = f"UPDATE {table} SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL"
        self._list_sql = f"SELECT id, name, role, scope, created_at, revoked_at FROM {table} ORDER BY created_at, name"
        self._count_role_sql = f"SELECT count(*) FROM {table} WHERE role = $1 AND revoked_at IS NULL"

    async def create(self, role: Role | str, scope: str, name: str) -> tuple[str, Principal]:
        """Issue a token for `name` with `role` and `scope`; returns the token, which is never seen again.

        Raises `ValueError` for an invalid role/scope pair or an empty name.
        """
        checked_role = parse_role(role)
        check_role_scope(checked_role, scope)
        name = name.strip()
        if not name:
            raise ValueError("a token needs the name of the person or system it belongs to")
        try:
            _TOKEN_NAME.validate_python(name)
        except ValidationError as error:
            # The name becomes the actor id of every event the token records, so it obeys the same rules.
            raise ValueError(f"invalid token name: {error.errors()[0]['msg']}") from None
        if name == BOOTSTRAP_NAME:
            raise ValueError(f"the name {BOOTSTRAP_NAME!r} is reserved for the bootstrap token")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        await self._pool.execute(self._insert_sql, uuid.uuid4(), name, checked_role.value, scope, hash_token(token))
        return token, Principal(name=name, role=checked_role, scope=scope)

    async def lookup(self, token: str) -> Principal | None:
        """The principal of a live (not revoked) token, or None."""
        row = await self._pool.fetchrow(self._lookup_sql, hash_token(token))
        if row is None:
            return None
        return Principal(name=row["name"], role=Role(row["role"]), scope=row["scope"])

    async def revoke(self, name: str) -> int:
        """Revoke every live token of `name`; returns how many were revoked (0 if none)."""
        result = await self._pool.execute(self._revoke_sql, name.strip())
        return int(result.split()[-1])  # command tag "UPDATE <n>"

    async def list(self) -> list[dict[str, Any]]:
        """Every token ever issued, oldest first, revoked ones included; never the hash."""
        rows = await self._pool.fetch(self._list_sql)
        return [
            {
                "id": str(row["id"]),
                "name": row["name"],
                "role": row["role"],
                "scope": row["scope"],
                "created_at": row["created_at"],
                "revoked_at": row["revoked_at"],
            }
            for row in rows
        ]

    async def count_admins(self) -> int:
        """How many live admin tokens exist (lets callers refuse to lock the last admin out)."""
        count = await self._pool.fetchval(self._count_role_sql, Role.ADMIN.value)
        return int(count or 0)


class Authenticator:
    """Turns an `Authorization` header into a `Principal`, or raises `AuthError`.

    Accepts tokens from the `TokenStore` and, when configured, the bootstrap token (an admin named
    "bootstrap"). Successful lookups are cached for `cache_ttl` seconds (default 5) to spare the
    database; that is also the longest a revoked token keeps working in another process.
    `clear_cache()` makes a revocation effective at once in this process. Failures are never cached.
    """

    def __init__(
        self,
        store: TokenStore,
        bootstrap_token: str | None,
        *,
        cache_ttl: float = 5.0,
        cache_size: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._bootstrap = bootstrap_token or None  # an empty variable must not enable an empty token
        self._ttl = cache_ttl
        self._cache_size = cache_size
        self._clock = clock
        self._cache: dict[str, tuple[float, Principal]] = {}

    @classmethod
    def from_env(cls, store: TokenStore, **kwargs: Any) -> Authenticator:
        """An authenticator whose bootstrap token comes from `LIF_BOOTSTRAP_TOKEN` (if set)."""
        return cls(store, os.environ.get(BOOTSTRAP_ENV), **kwargs)

    def clear_cache(self) -> None:
        """Forget cached principals, e.g. right after revoking a token."""
        self._cache.clear()

    async def authenticate(self, header_value: str | None) -> Principal:
        """The principal for an `Authorization: Bearer <token>` header value; `AuthError` otherwise."""
        token = _bearer_token(header_value)
        if self._bootstrap is not None and hmac.compare_digest(token.encode("utf-8"), self._bootstrap.encode("utf-8")):
            return Principal(name=BOOTSTRAP_NAME, role=Role.ADMIN, scope=REGION)
        key = hash_token(token)
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None:
            expires, principal = cached
            if now < expires:
                return principal
            del self._cache[key]
        found = await self.store.lookup(token)
        if found is None:
            raise AuthError("unknown or revoked token")
        if self._ttl > 0:
            self._remember(key, found, now)
        return found

    def _remember(self, key: str, principal: Principal, now: float) -> None:
        if len(self._cache) >= self._cache_size:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
        self._cache[key] = (now + self._ttl, principal)


def _bearer_token(header_value: str | None) -> str:
    """The token of a `Bearer <token>` header value, refusing anything else with a reason."""
    if header_value is None or not header_value.strip():
        raise AuthError("missing bearer token")
    parts = header_value.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise AuthError("malformed Authorization header; expected 'Bearer <token>'")
    token = parts[1]
    if len(token) > _MAX_TOKEN_LENGTH:
        raise AuthError("malformed bearer token")
    return token
