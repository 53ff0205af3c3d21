"""Learning Summaries read by learning collation, each read logged by orchestration as the owner of the text.

The summary's text is personal data kept in orchestration's erasable store; learning collation asks for it
when a review closes. Both ways of asking (the internal route, the in-process call of the embedded runtime)
go through `read_learning_summary`, so every read leaves a row (reader, board, case, review, time).
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from lif.erasable import ErasableStore
from services.orchestration.application import OrchestrationApplication
from services.orchestration.texts import Texts

log = logging.getLogger(__name__)

READS_TABLE = '"lif_orchestration".learning_summary_reads'


def read_learning_summary(
    app: OrchestrationApplication, store: ErasableStore, reader: str, lscb: str, case_id: UUID
) -> dict[str, Any] | None:
    """The case's Learning Summary as JSON (its `summary` None once erased), or None when the case has no
    review of that board or no summary; logged as read by `reader` either way."""
    state = app.review_for_case(case_id)
    view = None
    if state is not None and state.lscb == lscb:
        found = app.learning_summary(state.review_id, Texts(store))
        view = None if found is None else found.model_dump(mode="json")
    with store.pool.connection() as conn:
        conn.execute(
            f"INSERT INTO {READS_TABLE} (reader, lscb, case_id, review_id, found) VALUES (%s, %s, %s, %s, %s)",
            (reader, lscb, case_id, None if state is None else state.review_id, view is not None),
        )
    found_or_not = "found" if view else "none"
    log.info("learning summary of case %s (board %s) read by %s (%s)", case_id, lscb, reader, found_or_not)
    return view


def learning_summary_reads(store: ErasableStore, case_id: UUID) -> list[dict[str, Any]]:
    with store.pool.connection() as conn:
        rows = conn.execute(
            f"SELECT reader, lscb, case_id, review_id, found FROM {READS_TABLE} WHERE case_id = %s ORDER BY id",
            (case_id,),
        ).fetchall()
    return [dict(zip(("reader", "lscb", "case_id", "review_id", "found"), row, strict=True)) for row in rows]
