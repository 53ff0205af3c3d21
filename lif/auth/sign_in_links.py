"""One-time web sign-in links (`lif tokens create --web`), kept beside the tokens in `lif_access`.

A link carries a secret; the table holds its SHA-256 and the token sealed under it (lif.auth.sealed), so
the table alone signs nobody in. The web service redeems a link once (it records the use in its own schema).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from lif.auth.sealed import new_secret, seal, secret_id

LINK_VALIDITY = timedelta(minutes=15)
"""How long a sign-in link works: long enough to pass it on, short enough that a lost one expires soon."""

SIGN_IN_PATH = "/app/sign-in/link"
"""Where a link points (the web service's route), with the secret as `?code=`."""


async def create_sign_in_link(
    pool: asyncpg.Pool, token: str, name: str, valid_for: timedelta = LINK_VALIDITY
) -> str:
    """Record a link for `token`; returns its secret, which goes in the link and is stored nowhere."""
    secret = new_secret()
    await pool.execute(
        "INSERT INTO lif_access.sign_in_links (link_hash, sealed_token, name, expires_at) VALUES ($1, $2, $3, $4)",
        secret_id(secret),
        seal(secret, token),
        name,
        datetime.now(UTC) + valid_for,
    )
    return secret
