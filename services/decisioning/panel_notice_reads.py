"""A prepared National Panel notice as the notifications service needs it to send it.

The notice's text is personal data kept in decisioning's erasable store; notifications asks for it at
send time (over decisioning's internal route, or in-process in the embedded runtime) and never stores it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from services.decisioning.board_actions import BoardActions


def read_notice(actions: BoardActions, case_id: UUID, notice_id: UUID) -> dict[str, Any] | None:
    """The notice's board, rule, regime, state and texts (`html`/`markdown` None once erased); None when
    there is no such notice (blocking)."""
    case = actions.app.get_case(case_id)
    if case is None:
        return None
    notice = case.notice(notice_id)
    if notice is None:
        return None
    decision = case.find(UUID(notice["payload"]["decision_event_id"])) or {}
    sent = case.sent(notice_id)
    return {
        "lscb": case.lscb,
        "case_id": str(case_id),
        "notice_id": str(notice_id),
        "correlation_id": str(notice["correlation_id"]),
        "prepared_event_id": str(notice["event_id"]),
        "content_rule": notice["payload"]["content_rule"],
        "due": notice["payload"]["due"],
        "regime": decision.get("payload", {}).get("rule_pack"),
        "sent": None if sent is None else {k: sent["payload"][k] for k in ("channel", "sent_on")},
        "html": actions.documents.get(notice_id, case.lscb),
        "markdown": actions.documents.get(uuid5(notice_id, "markdown"), case.lscb),
    }
