"""The in-app inbox: messages for a role of a board (every token of that role reads them) or for one
person (the token whose name the directory entry gives). Rows are keyed by message id, so a message
delivered twice is stored once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

SCHEMA = "lif_notifications_outbox"


@dataclass(frozen=True)
class InboxItem:
    message_id: UUID
    lscb: str
    recipient_id: str
    template: str
    subject: str
    body: str
    context: dict[str, Any]
    delivered_at: datetime
    read_at: datetime | None
    read_by: str | None

    def public(self) -> dict[str, Any]:
        return {
            "message_id": str(self.message_id),
            "lscb": self.lscb,
            "recipient_id": self.recipient_id,
            "template": self.template,
            "subject": self.subject,
            "body": self.body,
            "context": self.context,
            "delivered_at": self.delivered_at.isoformat(),
            "read": self.read_at is not None,
            "read_at": None if self.read_at is None else self.read_at.isoformat(),
            "read_by": self.read_by,
        }


class Inbox:
    def __init__(self, pool: asyncpg.Pool, schema: str = SCHEMA) -> None:
        self.pool = pool
        self.table = f'"{schema}".inbox'

    async def store(
        self,
        message_id: UUID,
        lscb: str,
        recipient_id: str,
        *,
        role: str | None,
        principal: str | None,
        template: str,
        subject: str,
        body: str,
        context: dict[str, Any],
    ) -> None:
        await self.pool.execute(
            f"INSERT INTO {self.table} (message_id, lscb, recipient_id, role, principal, template, subject, body, "
            "context) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) ON CONFLICT (message_id) DO NOTHING",
            message_id,
            lscb,
            recipient_id,
            role,
            principal,
            template,
            subject,
            body,
            json.dumps(context),
        )

    async def for_reader(
        self, lscb: str, role: str, principal: str, *, unread_only: bool = False, limit: int = 50, offset: int = 0
    ) -> list[InboxItem]:
        """What a token of `role` on board `lscb`, named `principal`, may read: its role's and its own."""
        unread = " AND read_at IS NULL" if unread_only else ""
        rows = await self.pool.fetch(
            f"SELECT * FROM {self.table} WHERE lscb = $1 AND (role = $2 OR principal = $3){unread} "
            "ORDER BY delivered_at DESC, message_id LIMIT $4 OFFSET $5",
            lscb,
            role,
            principal,
            limit,
            offset,
        )
        return [_item(row) for row in rows]

    async def mark_read(self, message_id: UUID, lscb: str, role: str, principal: str) -> InboxItem | None:
        """Mark one message read (the first reader and time are kept); None when the reader may not see it."""
        row = await self.pool.fetchrow(
            f"UPDATE {self.table} SET read_at = COALESCE(read_at, now()), read_by = COALESCE(read_by, $4) "
            "WHERE message_id = $1 AND lscb = $2 AND (role = $3 OR principal = $4) RETURNING *",
            message_id,
            lscb,
            role,
            principal,
        )
        return None if row is None else _item(row)


def _item(row: asyncpg.Record) -> InboxItem:
    context = row["context"]
    return InboxItem(
        row["message_id"],
        row["lscb"],
        row["recipient_id"],
        row["template"],
        row["subject"],
        row["body"],
        json.loads(context) if isinstance(context, str) else dict(context),
        row["delivered_at"],
        row["read_at"],
        row["read_by"],
    )
