"""The National Panel notice sent through the outbox on the embedded runtime, to a real SMTP server.

The Chair sends the prepared T3 notice; it arrives by email at the Panel address configured for the
decision's regime, as HTML with the same notice as a PDF attachment that parses, and the delivery is
recorded by decisioning as `panel_notice_sent` (channel `email`), which meets T2 in the case view. The
manual "mark sent" then answers with that same event; a notice marked sent by hand is not sent again.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import httpx
import pytest
from pypdf import PdfReader

from lif.auth import Role
from lif.composition import open_logs
from lif.delivery.log import read_log
from lif.notifications_outbox import OutboxService
from lif.runtime.embedded import EmbeddedSystem, build_embedded
from lif.settings import OutboundSettings
from projections.rebuild import rebuild_from_logs
from services.notifications.outbox.dispatch import RetryPolicy
from tests.databases import fresh_database
from tests.mailbox import Mailbox, smtp_server
from tests.polling import eventually
from tests.samples import notification

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ADMIN = "panel-mail-admin-token"
KEY = b"panel-mail-test-pseudonym-key-0123456789"
PANEL = "notifications@nationalpanel.test"
RATIONALE = "Peer challenge found the concern limited in scope; a concise review will do."


@dataclass
class Board:
    client: httpx.AsyncClient
    system: EmbeddedSystem
    outbox: OutboxService
    mailbox: Mailbox
    tokens: dict[str, str]
    url: str

    async def post(self, path: str, who: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(path, json=body or {}, headers={"Authorization": f"Bearer {self.tokens[who]}"})

    async def get(self, path: str, who: str = "admin") -> httpx.Response:
        return await self.client.get(path, headers={"Authorization": f"Bearer {self.tokens[who]}"})

    async def decided_case(self) -> tuple[str, str]:
        """A statutory case the Chair decided not to make an SCR (T3), and its prepared notice's id."""
        answer = await self.post("/v1/incidents", "manager", notification())
        assert answer.status_code == 202, answer.text
        case_id: str = answer.json()["case_id"]

        async def recommended() -> bool:
            return (await self.get(f"/v1/cases/{case_id}")).json().get("recommendation") is not None

        await eventually(recommended, what="the recommendation")
        body = {"decision": "commission_macr", "decided_on": "2015-03-19", "rationale": RATIONALE}
        decided = await self.post(f"/v1/cases/{case_id}/decisions", "chair", body)
        assert decided.status_code == 201, decided.text
        prepared = await self.post(f"/v1/cases/{case_id}/panel-notices", "chair")
        assert prepared.status_code == 201, prepared.text
        return case_id, prepared.json()["events"][0]["payload"]["notice_id"]


@pytest.fixture
async def board(database_url: str) -> AsyncIterator[Board]:
    url = await fresh_database(database_url, "panelmail")
    with smtp_server() as (mailbox, port):
        settings = OutboundSettings(
            smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, mail_from="LIF Bolton <lif@bolton.test>"
        )
        system = await build_embedded(
            url,
            KEY,
            ADMIN,
            today=lambda: date(2015, 3, 20),
            outbound=settings,
            outbox_policy=RetryPolicy(attempts=3, first_delay=0.05),
        )
        outbox = system.outbox
        await system.start()
        await asyncio.to_thread(
            lambda: outbox.directory.add(
                lscb=None,
                channel="email",
                display_name="National Panel",
                address=PANEL,
                roles=["national_panel"],
                regime="nwlif-2015",
                created_by="test",
            )
        )
        tokens = {"admin": ADMIN}
        for who, role, scope in [
            ("manager", Role.BUSINESS_MANAGER, "BOL"),
            ("chair", Role.CHAIR, "BOL"),
            ("auditor", Role.AUDITOR, "BOL"),
            ("wigan_chair", Role.CHAIR, "WGN"),
        ]:
            tokens[who], _ = await system.authenticator.store.create(role, scope, who)
        transport = httpx.ASGITransport(app=system.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lif") as client:
            yield Board(client, system, outbox, mailbox, tokens, url)
        await system.stop()


async def test_the_chair_sends_the_notice_by_email_and_its_delivery_meets_t2(board: Board) -> None:
    case_id, notice_id = await board.decided_case()
    deliveries = f"/v1/cases/{case_id}/panel-notices/{notice_id}/deliveries"
    assert (await board.get(deliveries, "chair")).status_code == 404  # not sent yet: nothing tells its board
    assert (await board.post(deliveries, "auditor")).status_code == 403
    assert (await board.post(deliveries, "wigan_chair")).status_code == 404
    assert (await board.post(f"/v1/cases/{case_id}/panel-notices/{UUID(int=7)}/deliveries", "chair")).status_code == 404

    sent = await board.post(deliveries, "chair")
    assert sent.status_code == 202, sent.text
    [message] = sent.json()["messages"]
    assert message["channel"] == "email" and message["purpose"] == "panel_notice"
    again = await board.post(deliveries, "manager")
    assert again.status_code == 200 and again.json()["messages"][0]["message_id"] == message["message_id"]

    await eventually(lambda: asyncio.sleep(0, bool(board.mailbox.messages)), what="the notice's email")
    mail = board.mailbox.messages[0]
    assert mail["To"] == f"National Panel <{PANEL}>" and "(T3)" in mail["Subject"]
    notice_html = (await board.get(f"/v1/cases/{case_id}/panel-notices/{notice_id}", "chair")).text
    html = mail.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert RATIONALE in html and "head injury" in html and html.strip() == notice_html.strip()
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"national-panel-notice-{notice_id}.pdf"
    pdf = PdfReader(io.BytesIO(attachment.get_content()))
    pdf_text = " ".join(" ".join((page.extract_text() or "").split()) for page in pdf.pages)
    assert "head injury" in pdf_text and "concise review will do" in pdf_text

    # decisioning records the delivery as the notice sent (by email, on the delivery's date)
    async def recorded() -> dict[str, Any] | None:
        await board.system.catch_up()
        case = await asyncio.to_thread(board.system.decisioning.get_case, UUID(case_id))
        return None if case is None else case.sent(UUID(notice_id))

    sent_event = await eventually(recorded, what="panel_notice_sent")
    assert sent_event["payload"]["channel"] == "email"
    assert sent_event["actor"] == {"kind": "service", "id": "decisioning", "role": None}
    status = (await board.get(deliveries, "auditor")).json()["messages"][0]
    assert (await board.get(deliveries, "wigan_chair")).status_code == 404  # another board: as for nothing
    assert status["state"] == "delivered" and status["attempts"][0]["detail"]["message_id"] == mail["Message-ID"]
    delivered_events = [
        e for e in board.outbox.outbox.messages_of(f"panel-notice:{notice_id}")[0].view()["attempts"]
        if e["outcome"] == "delivered"
    ]
    assert len(delivered_events) == 1
    # T2 is met in the case view (the projection follows decisioning's log)
    async def t2_met() -> bool:
        await board.system.catch_up()
        case = (await board.get(f"/v1/cases/{case_id}")).json()
        return [d["met"] for d in case["deadlines"] if d["name"] == "panel_notice_due"] == [True]

    await eventually(t2_met, what="T2 met in the case view")

    # and the notifications service's T2 obligation is met by that same email-channel panel_notice_sent
    async def t2_obligation() -> dict[str, Any] | None:
        await board.system.catch_up()
        answer = (await board.get("/v1/lscbs/BOL/obligations?kind=T2", "manager")).json()
        found = [o for o in answer["obligations"] if o["case_id"] == case_id and o["state"] == "met"]
        return found[0] if found else None

    obligation = await eventually(t2_obligation, what="the T2 obligation met")
    assert obligation["met_by_event_id"] == sent_event["event_id"]
    # a rebuild of the read model from every log, then another dispatch pass: nothing is sent again
    outbox_log = len(read_log(board.outbox.outbox, 0, 10_000))
    logs = await asyncio.to_thread(open_logs, board.url)
    try:
        await rebuild_from_logs(board.system.projector, logs, progress=False)
    finally:
        for _, app in logs:
            app.close()
    assert await board.outbox.dispatch_pending() == 0
    assert len(read_log(board.outbox.outbox, 0, 10_000)) == outbox_log and len(board.mailbox.messages) == 1
    # marking it sent by hand now answers with the email's event, and records nothing
    mark_sent = f"/v1/cases/{case_id}/panel-notices/{notice_id}/sent"
    manual = await board.post(mark_sent, "manager", {"sent_on": "2015-03-20"})
    assert manual.status_code == 200 and manual.json()["events"][0]["event_id"] == sent_event["event_id"]
    assert len(board.mailbox.messages) == 1


async def test_a_notice_marked_sent_by_hand_is_not_sent_again(board: Board) -> None:
    case_id, notice_id = await board.decided_case()
    marked = await board.post(f"/v1/cases/{case_id}/panel-notices/{notice_id}/sent", "chair", {"sent_on": "2015-03-20"})
    assert marked.status_code == 201
    refused = await board.post(f"/v1/cases/{case_id}/panel-notices/{notice_id}/deliveries", "chair")
    assert refused.status_code == 409 and "manual" in refused.json()["detail"]
    nothing = await board.get(f"/v1/cases/{case_id}/panel-notices/{notice_id}/deliveries", "chair")
    assert nothing.status_code == 404  # nothing went through LIF: the same answer as for a notice of nothing
    assert board.mailbox.messages == []


async def test_decisionings_internal_notice_route_answers_only_the_notifications_service(board: Board) -> None:
    from fastapi import FastAPI

    from lif.auth.service import ServiceCredentials
    from services.decisioning.internal_api import build_internal_router
    from services.notifications.panel_notices import DecisioningNotices, NoticeUnavailable

    case_id, notice_id = await board.decided_case()
    app = FastAPI()
    credentials = ServiceCredentials(("notifications.n-secret", "decisioning.d-secret"))
    app.include_router(build_internal_router(board.system.actions, credentials))
    transport = httpx.ASGITransport(app=app)
    path = f"/internal/v1/panel-notices/{case_id}/{notice_id}"
    async with httpx.AsyncClient(transport=transport, base_url="http://decisioning") as raw:
        assert (await raw.get(path)).status_code == 401
        assert (await raw.get(path, headers={"Authorization": "Bearer decisioning.d-secret"})).status_code == 403
    notices = DecisioningNotices("http://decisioning", "notifications.n-secret", transport=transport)
    try:
        found = await notices(UUID(case_id), UUID(notice_id))
        assert found is not None and found["lscb"] == "BOL" and found["regime"] == "nwlif-2015"
        assert found["content_rule"] == "T3" and found["sent"] is None and RATIONALE in found["html"]
        assert await notices(UUID(case_id), UUID(int=9)) is None
        refused = DecisioningNotices("http://decisioning", "notifications.wrong", transport=transport)
        with pytest.raises(NoticeUnavailable):
            await refused(UUID(case_id), UUID(notice_id))
        await refused.close()
    finally:
        await notices.close()
