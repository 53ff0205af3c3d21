"""Seal a bearer token under a one-time secret, so a table can hold it without being able to reveal it.

The web service keeps, per session and per sign-in link, the person's bearer token. The table stores only
the SHA-256 of the secret (to find the row) and the token sealed under the secret itself (a keystream and a
tag, both HMAC-SHA256 of the secret): the secret lives only in the person's cookie or link, so a copy of
the table alone yields no token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_TAG = 32


def new_secret() -> str:
    """A fresh secret for a cookie or a sign-in link (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def secret_id(secret: str) -> bytes:
    """What a table keys the row by: the secret's SHA-256 (the secret itself is never stored)."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _keystream(secret: str, length: int) -> bytes:
    key = secret.encode("utf-8")
    blocks = (length + 31) // 32
    stream = b"".join(hmac.new(key, b"lif-seal-" + i.to_bytes(4, "big"), "sha256").digest() for i in range(blocks))
    return stream[:length]


def _tag(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), b"lif-seal-tag" + body, "sha256").digest()


def seal(secret: str, token: str) -> bytes:
    """`token` sealed under `secret` (each secret seals one token only)."""
    plain = token.encode("utf-8")
    body = bytes(a ^ b for a, b in zip(plain, _keystream(secret, len(plain)), strict=True))
    return body + _tag(secret, body)


def unseal(secret: str, sealed: bytes) -> str | None:
    """The token sealed under `secret`, or None when `sealed` was not sealed under it."""
    body, tag = sealed[:-_TAG], sealed[-_TAG:]
    if len(sealed) <= _TAG or not hmac.compare_digest(tag, _tag(secret, body)):
        return None
    plain = bytes(a ^ b for a, b in zip(body, _keystream(secret, len(body)), strict=True))
    return plain.decode("utf-8")
