"""The `Idempotency-Key` of HTTP commands, one way for every service.

A command sent with a key records, with its event (or entry), the key scoped to the caller's board and the
hash of the request (method, path, query and body in canonical JSON). The key given again decides one of
three things (`repeat_of`): nothing recorded under it, a new command; the same request, a repeat, answered
200 with what the first call recorded; another request, refused (`KeyReused`, a 422 naming the header).

Keys are scoped by the principal's scope (its board, or the region): the same key from another board is
another key, so it neither collides with nor reveals the first board's command. Only digests are kept:
the scoped key is SHA-256 of scope and key, never the key in clear. The request hash is a plain SHA-256,
as the hashes of the texts in events' `DocumentRef`s are; it is kept in internal events, not published.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request

from lif.auth import CurrentPrincipal

HEADER = "Idempotency-Key"
DESCRIPTION = (
    "Optional key making the command safe to retry: the same key with the same request (method, path, query "
    "and body) answers 200 with what the first call recorded; the same key with a different request is "
    "refused (422 naming `Idempotency-Key`). Keys are scoped to the caller's board."
)
REPEAT = {"description": "A repeat with the same Idempotency-Key and request: what the first call recorded"}
"""The 200 answer of a command taking the header, for its OpenAPI `responses`."""

T = TypeVar("T")


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces (dates and UUIDs as strings): equal values, equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def request_hash(value: Any) -> str:
    """SHA-256 of `value` in canonical JSON."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


class KeyReused(ValueError):
    """The key was used before with a different request (a 422 naming the header)."""

    field = HEADER
    message = (
        "this Idempotency-Key was already used for a different request: send the same request to repeat it, "
        "or use a new key"
    )

    def __init__(self) -> None:
        super().__init__(self.message)


@dataclass(frozen=True)
class Idempotency:
    """A keyed request: `key` is the header's key scoped to the caller's board (a digest), `request_hash`
    the request's hash."""

    key: str
    request_hash: str

    def part(self, name: str) -> Idempotency:
        """The key of one of several events a single request records (`name` tells them apart)."""
        return Idempotency(f"{self.key}:{name}", self.request_hash)


def scoped_key(scope: str, key: str) -> str:
    """The key as kept: SHA-256 over the principal's scope and the key."""
    return hashlib.sha256(canonical_json([scope, key]).encode()).hexdigest()


def repeat_of(noted: tuple[str, T] | None, idempotency: Idempotency) -> T | None:
    """What the key recorded, given `noted` (its request hash and record, None if unused): None for a new
    command, the record for a repeat; `KeyReused` for another request."""
    if noted is None:
        return None
    first_hash, first = noted
    if first_hash != idempotency.request_hash:
        raise KeyReused
    return first


async def idempotency(
    request: Request,
    principal: CurrentPrincipal,
    key: str | None = Header(default=None, alias=HEADER, max_length=200, description=DESCRIPTION),
) -> Idempotency | None:
    """The request's `Idempotency` when it carries the header (None without one)."""
    if not key:
        return None
    raw = await request.body()
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", errors="replace")
    query = sorted(request.query_params.multi_items())
    hashed = request_hash({"method": request.method, "path": request.url.path, "query": query, "body": body})
    return Idempotency(scoped_key(principal.scope, key), hashed)


Idempotent = Annotated[Idempotency | None, Depends(idempotency)]
"""An endpoint parameter: the request's `Idempotency` (from the `Idempotency-Key` header), or None."""
