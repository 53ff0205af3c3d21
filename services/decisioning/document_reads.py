"""Decisioning's documents read by other services, each read logged by decisioning as the owner of the text.

The auditor's timeline (the read model's `GET /v1/cases/{id}/decisions`) quotes the Chair's rationales,
referral reasons, notes and notices, which are personal data kept in decisioning's erasable store and out
of the events; the read model asks decisioning for them. Every way of asking (the internal HTTP route, or
the in-process call of the embedded runtime) goes through `read_document`, so every read leaves a row in
decisioning's own schema (reader, document, board, case, time) and a log line, whichever runtime served it.
"""

from __future__ import annotations

import logging
from uuid import UUID

from lif.erasable import ErasableStore

log = logging.getLogger(__name__)

READS_TABLE = '"lif_decisioning".document_reads'


def read_document(
    documents: ErasableStore, reader: str, lscb: str, document_id: UUID, case_id: UUID | None
) -> str | None:
    """The document's text (None when erased or unknown on that board), after logging that `reader` asked."""
    text = documents.get(document_id, lscb)
    with documents.pool.connection() as conn:
        conn.execute(
            f"INSERT INTO {READS_TABLE} (reader, document_id, lscb, case_id, found) VALUES (%s, %s, %s, %s, %s)",
            (reader, document_id, lscb, case_id, text is not None),
        )
    log.info(
        "document %s of board %s (case %s) read by %s (%s)",
        document_id,
        lscb,
        case_id,
        reader,
        "found" if text is not None else "not found",
    )
    return text


def document_reads(documents: ErasableStore, case_id: UUID) -> list[dict[str, object]]:
    """The logged reads of a case's documents, oldest first (for audits and tests)."""
    with documents.pool.connection() as conn:
        rows = conn.execute(
            f"SELECT reader, document_id, lscb, case_id, found, read_at FROM {READS_TABLE} "
            "WHERE case_id = %s ORDER BY id",
            (case_id,),
        ).fetchall()
    keys = ("reader", "document_id", "lscb", "case_id", "found", "read_at")
    return [dict(zip(keys, row, strict=True)) for row in rows]
