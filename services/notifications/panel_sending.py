"""Sending a prepared National Panel notice through the outbox: the Chair's or business manager's command.

The notice is asked of decisioning (its board, regime and whether it was already marked sent), the Panel's
addresses for that regime come from the directory, and one message per address is queued under the
notice's own key, so sending again returns the same messages instead of sending twice. Delivering one
records decisioning's `panel_notice_sent` (decisioning follows the outbox), which meets T2.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from lif.auth import Principal, Role
from services.notifications.directory import RecipientDirectory
from services.notifications.outbox.application import OutboxApplication
from services.notifications.outbox.domain import OutboundNotification
from services.notifications.outbox.messages import queued
from services.notifications.panel_notices import NoticeSource

SENDERS = frozenset({Role.CHAIR, Role.BUSINESS_MANAGER})


class Refusal(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def notice_source_key(notice_id: UUID) -> str:
    return f"panel-notice:{notice_id}"


async def send_panel_notice(
    outbox: OutboxApplication,
    directory: RecipientDirectory,
    notices: NoticeSource,
    principal: Principal,
    case_id: UUID,
    notice_id: UUID,
) -> tuple[list[OutboundNotification], bool]:
    """Queue the notice for the Panel's addresses; (the messages, True when queued now)."""
    if principal.role not in SENDERS:
        raise Refusal(403, "only the board's Chair or business manager sends a National Panel notice")
    notice = await notices(case_id, notice_id)
    if notice is None or not principal.sees_board(notice["lscb"]):
        raise Refusal(404, "not found")
    lscb = notice["lscb"]
    if not (principal.acts_as_chair_for(lscb) or principal.manages_cases_for(lscb)):
        raise Refusal(404, "not found")
    source = notice_source_key(notice_id)
    already = await asyncio.to_thread(outbox.messages_of, source)
    if already:
        return already, False
    sent = notice.get("sent")
    if sent is not None:
        raise Refusal(409, f"the notice was already marked sent ({sent['channel']}, {sent['sent_on']})")
    regime = notice.get("regime")
    if not regime:
        raise Refusal(409, "the notice's decision names no rule pack: its regime's Panel address is unknown")
    targets = await asyncio.to_thread(directory.panel_targets, regime)
    if not targets:
        raise Refusal(
            409,
            f"no National Panel address is configured for regime {regime} "
            f"(lif recipients add --panel --regime {regime} ...)",
        )
    context = {
        "notice_id": str(notice_id),
        "content_rule": notice["content_rule"],
        "due": notice["due"],
        "regime": regime,
    }
    envelopes = [
        queued(
            lscb=lscb,
            case_id=case_id,
            correlation_id=UUID(notice["correlation_id"]),
            source=source,
            source_event_id=UUID(notice["prepared_event_id"]),
            target=target,
            template="panel_notice",
            purpose="panel_notice",
            context=context,
            actor=principal.actor(),
            panel_notice_id=notice_id,
            regime=regime,
        )
        for target in targets
    ]
    return await asyncio.to_thread(outbox.queue, source, envelopes)


def views(messages: list[OutboundNotification]) -> list[dict[str, Any]]:
    return [message.view() for message in messages]
