"""HTTP adapter of the board's decisions on a case: who may do what is rules.md section 3.

The Chair decides, appoints lead reviewers and signs off National Panel notices; the business manager
refers cases to the SCR panel, records peer challenge and consultations, tags learning and may prepare
and mark notices sent. Another board's case answers 404 as everywhere else. Commands accept an optional
`Idempotency-Key` header (`lif.idempotency`): the same key with the same request returns the first result
(200) instead of recording again (201); with a different request it is refused (422 naming the key).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from events.decisioning import DecisionKind, Methodology, MethodologyCriterion
from events.fields import Date, Line, Text
from lif.auth import CaseAction, CaseScope, CurrentPrincipal, Principal, Role, forbid, resolve_case
from lif.http_errors import ErrorDetail
from lif.http_security import html_response
from lif.idempotency import REPEAT, Idempotent
from lif.typology import board_typology
from services.decisioning.board_actions import BoardActions, DecisionCommand, Recorded
from services.decisioning.errors import Invalid, Refused
from services.decisioning.learning_register import ClosedReview, HeldTheme

T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReferralRequest(Strict):
    referred_on: Date | None = Field(default=None, description="Default: today (Europe/London)")
    reason: Text | None = Field(default=None, max_length=20000, description="Kept in the erasable store")


class DiscretionaryInputRequest(Strict):
    kind: Literal["peer_challenge", "national_panel_consultation"]
    held_on: Date | None = None
    supports_scr: StrictBool
    note: Text | None = Field(default=None, max_length=20000, description="Kept in the erasable store")


class DecisionRequest(Strict):
    decision: DecisionKind
    decided_on: Date | None = Field(default=None, description="Default: today (Europe/London)")
    rationale: Text | None = Field(
        default=None, max_length=20000, description="Required when departing or superseding; erasable store"
    )
    methodology: Methodology | None = Field(default=None, description="initiate_scr: as the planning meeting advised")
    criteria_held: list[MethodologyCriterion] | None = Field(
        default=None, max_length=7, description="initiate_scr: D1-D6 held"
    )
    forum_theme: Line | None = Field(
        default=None, max_length=100, description="propose_forum: a theme id of the board's typology"
    )


class AppointmentRequest(Strict):
    reviewer_id: Line = Field(min_length=1, max_length=100)
    appointed_on: Date | None = None


class NoticeSentRequest(Strict):
    sent_on: Date | None = None


class PanelNotificationRequest(Strict):
    notified_on: Date | None = None


class RapidReviewRequest(Strict):
    held_on: Date | None = None


class ThemesRequest(Strict):
    themes: list[Annotated[Line, Field(min_length=1, max_length=100)]] = Field(min_length=1, max_length=50)


class ClosedReviewRequest(Strict):
    review_ref: Line = Field(min_length=1, max_length=100, description="The review's reference code")
    lscb: str = Field(pattern=r"^[A-Z]{3}$")
    themes: list[Annotated[Line, Field(min_length=1, max_length=100)]] = Field(min_length=1, max_length=50)
    closed_on: Date


class RecordedEvents(BaseModel):
    events: list[dict[str, Any]] = Field(description="The contract event(s) recorded (or found, on a repeat)")


def _answer(results: list[Recorded]) -> JSONResponse:
    created = any(r.created for r in results)
    return JSONResponse(status_code=201 if created else 200, content={"events": [r.event for r in results]})


def _refusal(error: Refused) -> JSONResponse:
    if isinstance(error, Invalid):
        return JSONResponse(status_code=422, content={"detail": [{"field": error.field, "message": error.message}]})
    return JSONResponse(status_code=error.status, content={"detail": error.message})


def build_router(actions: BoardActions) -> APIRouter:
    router = APIRouter(tags=["decisions"])
    responses: dict[int | str, dict[str, Any]] = {  # the error answers are declared for every route at once
        200: REPEAT,
        201: {"description": "Recorded"},
    }

    async def scoped(case_id: UUID, principal: Principal, action: CaseAction) -> str:
        """The case's board once the caller may do `action` on it (403 for the role, else the one 404)."""
        case = await asyncio.to_thread(actions.app.get_case, case_id)
        found = None if case is None else CaseScope(case.lscb)
        return resolve_case(principal, action, found).lscb

    async def run(call: Callable[[], T]) -> T | JSONResponse:
        try:
            return await asyncio.to_thread(call)
        except Refused as error:
            return _refusal(error)

    @router.post("/v1/cases/{case_id}/scr-panel-referral", status_code=201, responses=responses)
    async def refer(case_id: UUID, body: ReferralRequest, principal: CurrentPrincipal, key: Idempotent) -> Response:
        """Refer the case to the board's SCR panel: it is then *considered for an SCR* (rules.md 1 C)."""
        await scoped(case_id, principal, CaseAction.REFER)
        result = await run(
            lambda: actions.refer_to_scr_panel(case_id, principal.actor(), body.referred_on, body.reason, key)
        )
        return result if isinstance(result, JSONResponse) else _answer([result])

    @router.post("/v1/cases/{case_id}/discretionary-inputs", status_code=201, responses=responses)
    async def discretionary(
        case_id: UUID, body: DiscretionaryInputRequest, principal: CurrentPrincipal, key: Idempotent
    ) -> Response:
        """Record peer challenge or a National Panel consultation for a case below the SCR test (rule B)."""
        await scoped(case_id, principal, CaseAction.CONSULT)
        result = await run(
            lambda: actions.record_discretionary_input(
                case_id, principal.actor(), body.kind, body.held_on, body.supports_scr, body.note, key
            )
        )
        return result if isinstance(result, JSONResponse) else _answer([result])

    @router.post("/v1/cases/{case_id}/decisions", status_code=201, responses=responses)
    async def decide(case_id: UUID, body: DecisionRequest, principal: CurrentPrincipal, key: Idempotent) -> Response:
        """The Independent Chair's decision. Departing from the recommendation, or superseding an earlier
        decision, needs a rationale; initiating an SCR records the methodology (rules D1-D7).

        `open_stages` lists the review's pre-decision stages (1-3) not yet held: a decision taken early
        leaves them open and recordable, late against T1. It is decisioning's view of orchestration's
        events, so a stage held a moment ago may still show as open."""
        await scoped(case_id, principal, CaseAction.DECIDE)
        command = DecisionCommand(
            decision=body.decision,
            decided_on=body.decided_on,
            rationale=body.rationale,
            methodology=body.methodology,
            criteria_held=body.criteria_held,
            forum_theme=body.forum_theme,
        )
        result = await run(lambda: actions.decide(case_id, principal.actor(), command, key))
        if isinstance(result, JSONResponse):
            return result
        answer = _answer([result])
        still_open = await asyncio.to_thread(actions.app.open_pre_decision_stages, case_id)
        content = {"events": [result.event], "open_stages": still_open}
        return JSONResponse(status_code=answer.status_code, content=content)

    @router.post("/v1/cases/{case_id}/lead-reviewers", status_code=201, responses=responses)
    async def appoint(
        case_id: UUID, body: AppointmentRequest, principal: CurrentPrincipal, key: Idempotent
    ) -> Response:
        """Appoint a lead reviewer from the registry to the commissioned review; an SCR's must be
        independent of every agency of the board."""
        await scoped(case_id, principal, CaseAction.APPOINT)
        result = await run(
            lambda: actions.appoint_lead_reviewer(case_id, principal.actor(), body.reviewer_id, body.appointed_on, key)
        )
        return result if isinstance(result, JSONResponse) else _answer([result])

    @router.post("/v1/cases/{case_id}/panel-notices", status_code=201, responses=responses)
    async def prepare_notice(case_id: UUID, principal: CurrentPrincipal) -> Response:
        """Render and file the National Panel notice for the current decision (T3 or T4); once per decision."""
        await scoped(case_id, principal, CaseAction.NOTIFY)
        result = await run(lambda: actions.prepare_panel_notice(case_id, principal.actor()))
        return result if isinstance(result, JSONResponse) else _answer([result])

    @router.get(
        "/v1/cases/{case_id}/panel-notices/{notice_id}",
        responses={
            200: {"content": {"text/html": {}, "text/markdown": {}}},
            410: {"description": "The notice's text has been erased", "model": ErrorDetail},
        },
    )
    async def get_notice(
        case_id: UUID,
        notice_id: UUID,
        principal: CurrentPrincipal,
        format: Literal["html", "markdown"] = Query("html"),
    ) -> Response:
        """The rendered notice, to read, print or file (410 when its text has been erased)."""
        await scoped(case_id, principal, CaseAction.READ_NOTICE)
        result = await run(lambda: actions.notice_document(case_id, notice_id, format))
        if isinstance(result, JSONResponse):
            return result
        _, text = result
        if text is None:
            return JSONResponse(status_code=410, content={"detail": "the notice's text has been erased"})
        if format == "html":
            return html_response(text)
        return PlainTextResponse(text, media_type="text/markdown")

    @router.post("/v1/cases/{case_id}/panel-notices/{notice_id}/sent", status_code=201, responses=responses)
    async def notice_sent(
        case_id: UUID, notice_id: UUID, body: NoticeSentRequest, principal: CurrentPrincipal
    ) -> Response:
        """Mark the notice sent to the National Panel (outbound channels come with notifications)."""
        await scoped(case_id, principal, CaseAction.NOTIFY)
        result = await run(lambda: actions.mark_notice_sent(case_id, notice_id, principal.actor(), body.sent_on))
        return result if isinstance(result, JSONResponse) else _answer([result])

    @router.post("/v1/cases/{case_id}/panel-notification", status_code=201, responses=responses)
    async def panel_notification(
        case_id: UUID, body: PanelNotificationRequest, principal: CurrentPrincipal, key: Idempotent
    ) -> Response:
        """2018 regime: the board notified the Child Safeguarding Practice Review Panel (meets
        `panel_notification_due`, 5 working days from notification); 409 for a case without that deadline."""
        await scoped(case_id, principal, CaseAction.NOTIFY)
        actor = principal.actor()
        result = await run(lambda: actions.record_panel_notification(case_id, actor, body.notified_on, key))
        return result if isinstance(result, JSONResponse) else _answer([result])

    @router.post("/v1/cases/{case_id}/rapid-review", status_code=201, responses=responses)
    async def rapid_review(
        case_id: UUID, body: RapidReviewRequest, principal: CurrentPrincipal, key: Idempotent
    ) -> Response:
        """2018 regime: the rapid review was held (meets `rapid_review_due`, 15 working days from notification);
        409 for a case without that deadline."""
        await scoped(case_id, principal, CaseAction.NOTIFY)
        actor = principal.actor()
        result = await run(lambda: actions.record_rapid_review(case_id, actor, body.held_on, key))
        return result if isinstance(result, JSONResponse) else _answer([result])

    @router.post("/v1/cases/{case_id}/learning-themes", status_code=201, responses=responses)
    async def tag_themes(case_id: UUID, body: ThemesRequest, principal: CurrentPrincipal, key: Idempotent) -> Response:
        """Tag the case with themes of the board's typology; learning closed reviews already hold turns a
        MACR candidate into an embedding review (rule E2), recorded as a new recommendation."""
        await scoped(case_id, principal, CaseAction.TAG_LEARNING)
        result = await run(lambda: actions.tag_learning_themes(case_id, principal.actor(), body.themes, key))
        return result if isinstance(result, JSONResponse) else _answer(result)

    @router.post("/v1/learning/closed-reviews", status_code=201, tags=["learning"], responses=responses)
    async def record_closed_review(body: ClosedReviewRequest, principal: CurrentPrincipal) -> Response:
        """Record the learning themes of a closed review (rule E2 compares new cases with them)."""
        if not principal.manages_cases_for(body.lscb):
            raise forbid(f"only the business manager of {body.lscb} records its closed reviews")
        typology = board_typology(body.lscb)
        unknown = typology.check(body.themes)
        if unknown:
            return _refusal(Invalid("themes", f"not in {typology.name}/{typology.version}: " + ", ".join(unknown)))
        themes = tuple(HeldTheme(typology.name, typology.version, code) for code in dict.fromkeys(body.themes))
        review = ClosedReview(body.review_ref, body.lscb, themes, body.closed_on)
        created = await asyncio.to_thread(actions.learning.record, review)
        if not created:
            return JSONResponse(status_code=409, content={"detail": f"review {body.review_ref} is already recorded"})
        return JSONResponse(status_code=201, content=body.model_dump(mode="json"))

    @router.get("/v1/learning/closed-reviews", tags=["learning"])
    async def list_closed_reviews(principal: CurrentPrincipal) -> dict[str, Any]:
        """Themes of closed reviews across the region (learning, not case details): the caller's own board's
        with their reference codes, every other board's named by board, kind and month (lif.learning_view)."""
        if principal.role is Role.INTEGRATION:
            raise forbid("integrations submit incidents only")
        reviews = await asyncio.to_thread(actions.learning.list)
        viewer = None if principal.is_regional else principal.scope
        return {"reviews": [r.view_for(viewer) for r in reviews]}

    return router
