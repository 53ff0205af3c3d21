"""Incident summaries read by other services, each read logged by intake as the owner of the text.

The T3 National Panel notice quotes the incident summary, which is personal data and stays out of the
events; decisioning asks intake for it. Every way of asking (the internal HTTP route, or the in-process
call of the embedded runtime) goes through `read_summary`, so every read leaves a row in intake's own
schema (reader, summary, board, case, time) and a log line, whichever runtime served it.
"""

from __future__ import annotations

import logging
from uuid import UUID

from services.intake.application import IntakeApplication

log = logging.getLogger(__name__)

READS_TABLE = '"lif_intake".summary_reads'


def read_summary(
    intake: IntakeApplication, reader: str, lscb: str, summary_ref: UUID, case_id: UUID | None
) -> str | None:
    """The summary (None when erased or unknown on that board), after logging that `reader` asked for it."""
    summary = intake.personal.get(summary_ref, lscb)
    with intake.personal.pool.connection() as conn:
        conn.execute(
            f"INSERT INTO {READS_TABLE} (reader, summary_ref, lscb, case_id, found) VALUES (%s, %s, %s, %s, %s)",
            (reader, summary_ref, lscb, case_id, summary is not None),
        )
    log.info(
        "incident summary %s of board %s (case %s) read by %s (%s)",
        summary_ref,
        lscb,
        case_id,
        reader,
        "found" if summary is not None else "not found",
    )
    return summary


def summary_reads(intake: IntakeApplication, case_id: UUID) -> list[dict[str, object]]:
    """The logged reads of a case's summaries, oldest first (for audits and tests)."""
    with intake.personal.pool.connection() as conn:
        rows = conn.execute(
            f"SELECT reader, summary_ref, lscb, case_id, found, read_at FROM {READS_TABLE} "
            "WHERE case_id = %s ORDER BY id",
            (case_id,),
        ).fetchall()
    keys = ("reader", "summary_ref", "lscb", "case_id", "found", "read_at")
    return [dict(zip(keys, row, strict=True)) for row in rows]
