"""The erasable store: free text about people, per board, outside the immutable log.

Each service keeps its own (its own schema; table `details`, made by that service's migrations). Events
reference a row by id (and, where an auditor must be able to prove the text unchanged, its sha256);
erasing the row (later: per-subject erasure) never rewrites history.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg_pool import ConnectionPool

from lif.recorders import InTransaction


@dataclass(frozen=True)
class Text:
    """One text about people as the erasable store keeps it."""

    detail_id: UUID
    lscb: str
    case_id: UUID
    kind: str
    body: str


class ErasableStore:
    def __init__(self, database_url: str, schema: str) -> None:
        self.schema = schema
        self.pool = ConnectionPool(database_url, min_size=1, max_size=4, open=True)
        self.table = f'"{schema}".details'

    def put(self, detail_id: UUID, lscb: str, case_id: UUID, kind: str, body: str) -> None:
        """Idempotent: the same id is written once."""
        with self.pool.connection() as conn:
            conn.execute(self._insert, (detail_id, lscb, case_id, kind, body))

    def put_with(self, texts: Sequence[Text]) -> InTransaction:
        """`put` of each text, as a write for the transaction that records the events referencing them
        (lif.recorders.AlsoRecorder): the texts are kept if and only if the events are."""
        rows = [(t.detail_id, t.lscb, t.case_id, t.kind, t.body) for t in texts]

        def write(cursor: Cursor[Any]) -> None:
            if rows:
                cursor.executemany(self._insert, rows)

        return write

    @property
    def _insert(self) -> str:
        return (
            f"INSERT INTO {self.table} (id, lscb, case_id, kind, body) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (id) DO NOTHING"
        )

    def put_document(self, document_id: UUID, lscb: str, case_id: UUID, kind: str, body: str) -> str:
        """Store a document once under `document_id`; returns the sha256 (hex) an event records with its id.

        Idempotent like `put`: writing the same id again keeps the first text, and the hash returned is
        that of the text stored, so a retried command records the same reference.
        """
        self.put(document_id, lscb, case_id, kind, body)
        stored = self.get(document_id, lscb)
        return text_sha256(body if stored is None else stored)

    def discard(self, detail_id: UUID, lscb: str) -> None:
        """Delete a text no event references (written for a command that then lost or was refused)."""
        with self.pool.connection() as conn:
            conn.execute(f"DELETE FROM {self.table} WHERE id = %s AND lscb = %s", (detail_id, lscb))

    def get(self, detail_id: UUID, lscb: str) -> str | None:
        """The text, if it exists for that board and has not been erased."""
        with self.pool.connection() as conn:
            row = conn.execute(
                f"SELECT body FROM {self.table} WHERE id = %s AND lscb = %s AND erased_at IS NULL",
                (detail_id, lscb),
            ).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        self.pool.close()


def text_sha256(text: str) -> str:
    """The hash events record for a document, so a reader can check the text is the one recorded."""
    return hashlib.sha256(text.encode()).hexdigest()
