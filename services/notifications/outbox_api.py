"""HTTP of the notifications outbox: the recipients directory, the inbox, Panel notices, message attempts.

Who may do what (rules.md section 3): admins and a board's business manager manage that board's directory
(the national Panel entries are the admins'); every board token reads its own and its role's inbox; the
Chair or business manager sends a Panel notice; the board's managers, Chair and auditors see a message's
attempts. Another board's things answer 404, as everywhere else.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlparse
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from events.fields import Line
from lif.auth import CurrentPrincipal, Principal, Role, forbid, not_found
from lif.boards import get_board
from lif.http_errors import ErrorDetail
from lif.paging import Limit, Offset
from services.notifications.directory import RecipientDirectory
from services.notifications.inbox import Inbox
from services.notifications.outbox.application import OutboxApplication
from services.notifications.panel_notices import NoticeSource, NoticeUnavailable
from services.notifications.panel_sending import Refusal, notice_source_key, send_panel_notice, views

RoleName = Literal["chair", "business_manager", "reviewer", "auditor", "lead_reviewer"]
"""The roles a board's recipient may answer for (those the reminder schedules name)."""
ROLE_NAMES: tuple[str, ...] = get_args(RoleName)
EMAIL_PATTERN = r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecipientRequest(Strict):
    lscb: str = Field(pattern=r"^[A-Z]{3}$", description="The board this recipient belongs to")
    channel: Literal["email", "webhook", "inbox"]
    display_name: Line = Field(min_length=1, max_length=200, description="Kept in the erasable directory")
    address: Line = Field(
        min_length=1,
        max_length=500,
        description="email: the address; webhook: the https URL; inbox: the person's token name",
    )
    roles: list[RoleName] = Field(min_length=1, max_length=5, description="The roles this recipient answers for")

    @field_validator("lscb")
    @classmethod
    def known_board(cls, value: str) -> str:
        if get_board(value) is None:
            raise ValueError(f"unknown board code {value!r}")
        return value


def check_address(channel: str, address: str) -> str | None:
    """Why `address` does not suit `channel`, or None."""
    if channel == "email" and not re.match(EMAIL_PATTERN, address):
        return "not an email address"
    if channel == "webhook":
        parsed = urlparse(address)
        if parsed.scheme not in ("https", "http") or not parsed.netloc:
            return "not an http(s) URL"
    return None


def _manages_directory(principal: Principal, lscb: str) -> bool:
    return principal.role is Role.ADMIN or principal.manages_cases_for(lscb)


def _refused(principal: Principal, lscb: str) -> HTTPException:
    if principal.role not in (Role.ADMIN, Role.BUSINESS_MANAGER):
        return forbid("only an admin or the board's business manager manages its recipients")
    return not_found()


def build_router(
    outbox: OutboxApplication,
    directory: RecipientDirectory,
    inbox: Inbox,
    notices: NoticeSource | None,
) -> APIRouter:
    router = APIRouter(tags=["notifications"])
    responses: dict[int | str, dict[str, Any]] = {
        403: {"model": ErrorDetail},
        404: {"model": ErrorDetail},
        409: {"model": ErrorDetail},
    }

    # --- the recipients directory ------------------------------------------------------------------------

    @router.get("/v1/notifications/recipients", responses=responses)
    async def list_recipients(
        principal: CurrentPrincipal, lscb: Annotated[str, Query(pattern=r"^[A-Z]{3}$")]
    ) -> dict[str, Any]:
        """A board's recipients (names and addresses; never a webhook's secret)."""
        if not _manages_directory(principal, lscb):
            raise _refused(principal, lscb)
        entries = await asyncio.to_thread(directory.entries, lscb)
        return {"lscb": lscb, "recipients": [entry.public() for entry in entries]}

    @router.post("/v1/notifications/recipients", status_code=201, responses=responses)
    async def add_recipient(body: RecipientRequest, principal: CurrentPrincipal) -> JSONResponse:
        """Add a recipient; a webhook's signing secret (`whsec_...`) is made here and shown this once."""
        if not _manages_directory(principal, body.lscb):
            raise _refused(principal, body.lscb)
        problem = check_address(body.channel, body.address)
        if problem:
            return JSONResponse(status_code=422, content={"detail": [{"field": "address", "message": problem}]})
        entry, secret = await asyncio.to_thread(
            lambda: directory.add(
                lscb=body.lscb,
                channel=body.channel,
                display_name=body.display_name,
                address=body.address,
                roles=list(dict.fromkeys(body.roles)),
                created_by=principal.name,
            )
        )
        answer = entry.public()
        if secret is not None:
            answer["secret"] = secret
        return JSONResponse(status_code=201, content=answer)

    @router.delete("/v1/notifications/recipients/{recipient_id}", responses=responses)
    async def erase_recipient(recipient_id: str, principal: CurrentPrincipal) -> dict[str, Any]:
        """Erase a recipient: its name, address and secret are cleared; messages queued for it fail as erased."""
        entry = await asyncio.to_thread(directory.entry, recipient_id)
        if entry is None or entry.erased:
            if principal.role not in (Role.ADMIN, Role.BUSINESS_MANAGER):
                raise forbid("only an admin or the board's business manager manages its recipients")
            raise not_found()
        if entry.lscb is None:
            if principal.role is not Role.ADMIN:
                raise forbid("only an admin manages the National Panel's addresses")
        elif not _manages_directory(principal, entry.lscb):
            raise _refused(principal, entry.lscb)
        await asyncio.to_thread(directory.erase, recipient_id, principal.name)
        return {"recipient_id": recipient_id, "erased": True}

    # --- the inbox -----------------------------------------------------------------------------------------

    @router.get("/v1/me/notifications")
    async def my_notifications(
        principal: CurrentPrincipal,
        unread: bool = False,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """The caller's inbox: what was sent to its role on its board and to it by name, newest first."""
        if principal.is_regional:
            return {"notifications": [], "limit": limit, "offset": offset}
        items = await inbox.for_reader(
            principal.scope, str(principal.role), principal.name, unread_only=unread, limit=limit, offset=offset
        )
        return {"notifications": [item.public() for item in items], "limit": limit, "offset": offset}

    @router.post("/v1/me/notifications/{message_id}/read", responses={404: {"model": ErrorDetail}})
    async def mark_read(message_id: UUID, principal: CurrentPrincipal) -> dict[str, Any]:
        """Mark one of the caller's messages read (the first reader and time stay)."""
        item = None
        if not principal.is_regional:
            item = await inbox.mark_read(message_id, principal.scope, str(principal.role), principal.name)
        if item is None:
            raise not_found()
        return item.public()

    # --- messages and their attempts ------------------------------------------------------------------------

    @router.get("/v1/notifications/messages/{message_id}", responses=responses)
    async def message(message_id: UUID, principal: CurrentPrincipal) -> dict[str, Any]:
        """One outbound message: its cause, channel and recipient id, and every delivery attempt."""
        if principal.role not in (Role.ADMIN, Role.BUSINESS_MANAGER, Role.CHAIR, Role.AUDITOR):
            raise forbid("only the board's managers, Chair and auditors see outbound messages")
        found = await asyncio.to_thread(outbox.message, message_id)
        if found is None or not principal.sees_board(found.queued["lscb"]):
            raise not_found()
        return found.view()

    # --- the National Panel notice ----------------------------------------------------------------------------

    @router.post(
        "/v1/cases/{case_id}/panel-notices/{notice_id}/deliveries",
        status_code=202,
        responses={**responses, 503: {"model": ErrorDetail}},
    )
    async def send_notice(case_id: UUID, notice_id: UUID, principal: CurrentPrincipal) -> JSONResponse:
        """Send the prepared notice by email to the National Panel's address for the decision's regime, as
        HTML with the PDF attached. 202 when queued now, 200 with the same messages when already queued."""
        if notices is None:
            raise HTTPException(503, detail="National Panel notices cannot be read here (LIF_DECISIONING_URL)")
        try:
            messages, created = await send_panel_notice(outbox, directory, notices, principal, case_id, notice_id)
        except Refusal as refusal:
            raise HTTPException(refusal.status, detail=refusal.detail) from None
        except NoticeUnavailable as exc:
            raise HTTPException(503, detail=str(exc), headers={"Retry-After": "5"}) from None
        return JSONResponse(
            status_code=202 if created else 200,
            content={"status": "queued" if created else "already_queued", "messages": views(messages)},
        )

    @router.get("/v1/cases/{case_id}/panel-notices/{notice_id}/deliveries", responses=responses)
    async def notice_deliveries(case_id: UUID, notice_id: UUID, principal: CurrentPrincipal) -> dict[str, Any]:
        """The notice's messages and their attempts. A notice never sent through LIF answers 404 as one outside
        the caller's scope does: only a sent notice's messages tell which board the case is on."""
        if principal.role not in (Role.ADMIN, Role.BUSINESS_MANAGER, Role.CHAIR, Role.AUDITOR):
            raise forbid("only the board's managers, Chair and auditors see outbound messages")
        messages = await asyncio.to_thread(outbox.messages_of, notice_source_key(notice_id))
        visible = [
            m for m in messages if m.queued["case_id"] == str(case_id) and principal.sees_board(m.queued["lscb"])
        ]
        if not visible:
            raise not_found()
        return {"case_id": str(case_id), "notice_id": str(notice_id), "messages": views(visible)}

    return router

