"""From a queued message to what a channel sends: the template's context, links, and attachments.

A Panel notice's text is fetched from decisioning at send time (it is personal data, never in an event)
and attached as a PDF rendered from the same HTML.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import UUID

from lif.pdf import render_pdf
from services.notifications.outbound import Attachment, OutboundMessage
from services.notifications.outbox.dispatch import Unsendable
from services.notifications.outbox.domain import OutboundNotification
from services.notifications.panel_notices import NoticeSource


class Composer:
    def __init__(
        self,
        notices: NoticeSource | None,
        public_url: str | None = None,
        pdf: Callable[[str], bytes] = render_pdf,
    ) -> None:
        self.notices = notices
        self.public_url = public_url.rstrip("/") if public_url else None
        self.pdf = pdf

    async def __call__(self, message: OutboundNotification) -> OutboundMessage:
        p = message.payload
        lscb = message.queued["lscb"]
        context: dict[str, str] = {"lscb": lscb, "case_id": message.queued["case_id"], **p["context"]}
        case_id = context["case_id"]  # "" for a learning recommendation's obligation, which names no case
        if self.public_url:
            kind = context.get("kind", "")
            where = f"/v1/cases/{case_id}" if case_id else f"/v1/lscbs/{lscb}/obligations?kind={kind}"
            context["link"] = f"{self.public_url}{where}"
        attachments: tuple[Attachment, ...] = ()
        if p["purpose"] == "panel_notice":
            attachments = await self._notice(UUID(case_id), UUID(p["panel_notice_id"]), context)
        return OutboundMessage(
            idempotency_key=p["idempotency_key"],
            lscb=lscb,
            recipient_id=p["recipient_id"],
            channel=p["channel"],
            template=p["template"],
            context=context,
            attachments=attachments,
        )

    async def _notice(self, case_id: UUID, notice_id: UUID, context: dict[str, str]) -> tuple[Attachment, ...]:
        if self.notices is None:
            raise Unsendable("no way to read National Panel notices is configured (LIF_DECISIONING_URL)")
        notice = await self.notices(case_id, notice_id)
        if notice is None:
            raise Unsendable(f"decisioning has no National Panel notice {notice_id}")
        if notice["html"] is None:
            raise Unsendable("the notice's text has been erased")
        filename = f"national-panel-notice-{notice_id}.pdf"
        context.update(
            notice_html=notice["html"],
            notice_text=notice["markdown"] or "",
            filename=filename,
            content_rule=notice["content_rule"],
        )
        pdf = await asyncio.to_thread(self.pdf, notice["html"])
        return (Attachment(filename, "application/pdf", pdf),)
