"""HTTP adapter of referral intake: `POST /v1/incidents`."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from events.incidents import IncidentNotification
from lif.auth import CurrentPrincipal, forbid
from lif.boards import get_board
from lif.group_commit import GroupCommit
from services.intake.application import IntakeApplication, Submission, SubmitResult


def build_router(intake: IntakeApplication) -> APIRouter:
    router = APIRouter(tags=["intake"])
    # concurrent submissions share a transaction (looked up when called: the OpenAPI export has no intake)
    submit: GroupCommit[Submission, SubmitResult] = GroupCommit(lambda items: intake.submit_many(items))

    @router.post(
        "/v1/incidents",
        status_code=202,
        responses={
            200: {"description": "The same notification was already accepted; nothing recorded"},
            202: {"description": "Accepted: a new case was opened"},
            403: {"description": "The token may not submit for this board"},
            409: {"description": "The source reference is already a case with different content"},
            422: {"description": "Invalid notification: one message per bad field"},
        },
    )
    async def submit_incident(notification: IncidentNotification, principal: CurrentPrincipal) -> JSONResponse:
        """Accept an incident notification; resubmitting the same one is safe."""
        if get_board(notification.lscb) is None:
            return JSONResponse(
                status_code=422,
                content={"detail": [{"field": "lscb", "message": f"unknown board {notification.lscb!r}"}]},
            )
        if not principal.may_submit_incident_for(notification.lscb):
            raise forbid(f"this token may not submit incidents for {notification.lscb}")
        result = await submit(Submission(notification, principal.actor(), "http"))
        if result.status == "created":
            return JSONResponse(status_code=202, content={"case_id": str(result.case_id), "status": "accepted"})
        if result.status == "duplicate":
            return JSONResponse(status_code=200, content={"case_id": str(result.case_id), "status": "duplicate"})
        return JSONResponse(
            status_code=409,
            content={
                "detail": "this source reference is already case "
                f"{result.case_id} with different content; send a correction instead",
                "case_id": str(result.case_id),
            },
        )

    return router
