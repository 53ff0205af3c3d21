"""The recipients directory: who is told, and where, per board; personal data and secrets, erasable.

Events name a recipient by its id only (`rcp-...`). A role's own inbox (`role:chair`) needs no entry: every
token of that role and board reads it. An entry names a person or system for a board and the roles it
answers for; a national entry (no board) is the National Panel's address for one regime. Erasing an entry
clears its name, address and secret and keeps its id, so what was queued for it fails as erased and never
reaches someone else.
"""

from __future__ import annotations

import secrets
from base64 import b64encode
from dataclasses import dataclass
from typing import Any

from psycopg_pool import ConnectionPool

from services.notifications.outbound import ChannelName, Recipient

SCHEMA = "lif_notifications_directory"
ROLE_INBOX_PREFIX = "role:"
PANEL_ROLE = "national_panel"


def role_inbox(role: str) -> str:
    """The recipient id of a role's shared inbox on a board."""
    return f"{ROLE_INBOX_PREFIX}{role}"


def new_webhook_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class Entry:
    """A directory entry as its managers see it (never with its secret)."""

    recipient_id: str
    lscb: str | None
    channel: ChannelName
    display_name: str | None
    address: str | None
    roles: tuple[str, ...]
    regime: str | None
    erased: bool

    def public(self) -> dict[str, Any]:
        return {
            "recipient_id": self.recipient_id,
            "lscb": self.lscb,
            "channel": self.channel,
            "display_name": self.display_name,
            "address": self.address,
            "roles": list(self.roles),
            "regime": self.regime,
            "erased": self.erased,
        }


@dataclass(frozen=True)
class Target:
    """Who a message goes to, as an event may say it: an id and a channel."""

    recipient_id: str
    channel: ChannelName


class RecipientDirectory:
    """The directory's table (blocking; call from a thread in async code)."""

    def __init__(self, database_url: str, schema: str = SCHEMA) -> None:
        self.pool = ConnectionPool(database_url, min_size=1, max_size=4, open=True)
        self.table = f'"{schema}".recipients'

    def add(
        self,
        *,
        lscb: str | None,
        channel: ChannelName,
        display_name: str,
        address: str,
        roles: list[str],
        created_by: str,
        secret: str | None = None,
        regime: str | None = None,
    ) -> tuple[Entry, str | None]:
        """A new entry, and its webhook secret (made here when none is given; shown to the caller once)."""
        recipient_id = f"rcp-{secrets.token_hex(8)}"
        if channel == "webhook" and secret is None:
            secret = new_webhook_secret()
        with self.pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {self.table} (recipient_id, lscb, channel, display_name, address, secret, roles, "
                "regime, created_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (recipient_id, lscb, channel, display_name, address, secret, roles, regime, created_by),
            )
        entry = Entry(recipient_id, lscb, channel, display_name, address, tuple(roles), regime, False)
        return entry, secret if channel == "webhook" else None

    def entries(self, lscb: str | None, *, include_erased: bool = False) -> list[Entry]:
        """A board's entries (`lscb` None: the national ones), oldest first."""
        condition = "lscb = %s" if lscb is not None else "lscb IS NULL"
        erased = "" if include_erased else " AND erased_at IS NULL"
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT recipient_id, lscb, channel, display_name, address, roles, regime, erased_at IS NOT NULL "
                f"FROM {self.table} WHERE {condition}{erased} ORDER BY created_at, recipient_id",
                () if lscb is None else (lscb,),
            ).fetchall()
        return [Entry(r[0], r[1], r[2], r[3], r[4], tuple(r[5]), r[6], r[7]) for r in rows]

    def entry(self, recipient_id: str) -> Entry | None:
        with self.pool.connection() as conn:
            r = conn.execute(
                f"SELECT recipient_id, lscb, channel, display_name, address, roles, regime, erased_at IS NOT NULL "
                f"FROM {self.table} WHERE recipient_id = %s",
                (recipient_id,),
            ).fetchone()
        return None if r is None else Entry(r[0], r[1], r[2], r[3], r[4], tuple(r[5]), r[6], r[7])

    def erase(self, recipient_id: str, by: str) -> bool:
        """Clear an entry's personal data and secret; False when there is no such (unerased) entry."""
        with self.pool.connection() as conn:
            done = conn.execute(
                f"UPDATE {self.table} SET display_name = NULL, address = NULL, secret = NULL, erased_at = now(), "
                "erased_by = %s WHERE recipient_id = %s AND erased_at IS NULL",
                (by, recipient_id),
            ).rowcount
        return bool(done)

    def targets_for_roles(self, lscb: str, roles: list[str]) -> list[Target]:
        """Who answers for `roles` on board `lscb`: each role's inbox, then every live entry holding one of
        them (each entry once), in a stable order so a retried fan-out makes the same messages."""
        targets = [Target(role_inbox(role), "inbox") for role in dict.fromkeys(roles)]
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT recipient_id, channel FROM {self.table} WHERE lscb = %s AND erased_at IS NULL "
                "AND roles && %s ORDER BY recipient_id",
                (lscb, roles),
            ).fetchall()
        return targets + [Target(r[0], r[1]) for r in rows]

    def panel_targets(self, regime: str) -> list[Target]:
        """The National Panel's email addresses for a regime (national entries with that regime)."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT recipient_id FROM {self.table} WHERE lscb IS NULL AND regime = %s AND channel = 'email' "
                "AND erased_at IS NULL AND %s = ANY(roles) ORDER BY recipient_id",
                (regime, PANEL_ROLE),
            ).fetchall()
        return [Target(r[0], "email") for r in rows]

    def resolve(self, recipient_id: str, lscb: str, channel: ChannelName) -> Recipient | None:
        """The recipient's details for one send, or None when erased or unknown (a role's inbox always resolves)."""
        if recipient_id.startswith(ROLE_INBOX_PREFIX):
            role = recipient_id[len(ROLE_INBOX_PREFIX) :]
            return Recipient(recipient_id, lscb, "inbox", role, recipient_id)
        with self.pool.connection() as conn:
            r = conn.execute(
                f"SELECT channel, display_name, address, secret, lscb FROM {self.table} "
                "WHERE recipient_id = %s AND erased_at IS NULL",
                (recipient_id,),
            ).fetchone()
        if r is None or r[0] != channel or (r[4] is not None and r[4] != lscb):
            return None
        return Recipient(recipient_id, lscb, r[0], r[1] or "", r[2] or "", r[3])

    def close(self) -> None:
        self.pool.close()
