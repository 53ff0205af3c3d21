"""HTTP adapter of learning collation: the sources a business manager records, the regional register,
search, the figures per theme, and recommendations tracked to impact.

Who may read collated learning: admin, regional analyst, auditors, and the boards' business managers and
Chairs (the Business Managers Group); a board's own sources come in full, every other board's without case
identifiers (services.learning.queries). Commands are the business manager's, for their own board.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from events.learning import ReviewType, SourceKind, ThemeTag
from lif.auth import CurrentPrincipal, Principal, Role
from lif.auth.http import forbid, not_found
from lif.clock import Today, today_london
from lif.idempotency import REPEAT, Idempotency, Idempotent
from lif.paging import Limit, Offset
from lif.typology import TypologyError, TypologyNotFound, board_typology, load_typology
from services.learning import queries
from services.learning.api_models import (
    ActionRequest,
    ActionUpdateRequest,
    AuditRequest,
    ForumRequest,
    ImpactRequest,
    LegacyReviewRequest,
    ReauditRequest,
    SourceKindFilter,
    ThemeInput,
)
from services.learning.application import LearningApplication, Recorded, SourceInput, request_hash
from services.learning.errors import InvalidInput, LearningError
from services.learning.queries import Filters
from services.learning.register import erase_source
from services.learning.themes import latest_version

READERS = frozenset({Role.ADMIN, Role.REGIONAL_ANALYST, Role.AUDITOR, Role.BUSINESS_MANAGER, Role.CHAIR})
REFUSALS: dict[int | str, dict[str, Any]] = {
    200: {"description": "A repeat: the event recorded the first time"},
    403: {"description": "The caller's role may not do this"},
    404: {"description": "No such source or recommendation, or outside the caller's scope"},
    409: {"description": "The same reference was recorded with different content, or the state does not allow it"},
    422: {"description": "Invalid input: one message per bad field"},
}
KEYED_REFUSALS = REFUSALS | {200: REPEAT}
"""The answers of a command taking an Idempotency-Key."""
Period = Annotated[date | None, Query(alias="from", description="From this date (YYYY-MM-DD)")]
PeriodTo = Annotated[date | None, Query(alias="to", description="To this date (YYYY-MM-DD), inclusive")]
Board = Annotated[str | None, Query(pattern=r"^[A-Z]{3}$", description="One board's learning only")]
TypologyName = Annotated[str | None, Query(pattern=r"^[a-z0-9-]{1,100}$", description="The code's typology")]
Code = Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,99}$", description="A theme code of `typology`")]


def keyed(idempotent: Idempotency | None) -> tuple[str | None, str]:
    """The application's key (scoped to the caller's board) and request hash; no key: nothing to compare."""
    return (None, "") if idempotent is None else (idempotent.key, idempotent.request_hash)


def refusal(error: LearningError) -> JSONResponse:
    if error.status == 422:
        return JSONResponse(status_code=422, content={"detail": [{"field": error.field, "message": error.message}]})
    return JSONResponse(status_code=error.status, content={"detail": error.message})


def _reader(principal: Principal) -> str | None:
    """The board whose sources the caller sees in full (None: none, every board's without case ids)."""
    if principal.role not in READERS:
        raise forbid("this role does not read collated learning")
    return None if principal.is_regional else principal.scope


def _tags(lscb: str, themes: list[ThemeInput]) -> list[ThemeTag]:
    tags = []
    for i, theme in enumerate(themes):
        typology = theme.typology or board_typology(lscb).name
        version = theme.version or latest_version(typology)
        if version is None:
            raise InvalidInput(f"no typology {typology!r} is configured", f"themes[{i}].typology")
        tags.append(ThemeTag(typology=typology, version=version, code=theme.code))
    return tags


def _filters(
    lscb: str | None,
    review_type: ReviewType | None,
    source_kind: str | None,
    typology: str | None,
    code: str | None,
    period_from: date | None,
    period_to: date | None,
) -> Filters:
    if (typology is None) != (code is None):
        raise InvalidInput("give both typology and code, or neither", "code" if code is None else "typology")
    if typology is not None and code is not None:
        version = latest_version(typology)
        try:
            known = version is not None and code in load_typology(f"{typology}/{version}").themes
        except (TypologyError, TypologyNotFound):
            known = False
        if version is None:
            raise InvalidInput(f"no typology {typology!r} is configured", "typology")
        if not known and not _in_any_version(typology, code):
            raise InvalidInput(f"{code!r} is not a theme of {typology}", "code")
    if period_from and period_to and period_from > period_to:
        raise InvalidInput("from is after to", "from")
    return Filters(lscb, review_type, source_kind, typology, code, period_from, period_to)


def _in_any_version(typology: str, code: str) -> bool:
    from lif.typology import available_typologies

    return any(code in load_typology(f"{typology}/{v}").themes for v in available_typologies().get(typology, []))


def _answer(recorded: Recorded | list[Recorded]) -> JSONResponse:
    items = recorded if isinstance(recorded, list) else [recorded]
    created = any(r.created for r in items)
    return JSONResponse(status_code=201 if created else 200, content={"events": [r.event for r in items]})


def build_router(app: LearningApplication, pool: asyncpg.Pool, *, today: Today = today_london) -> APIRouter:
    router = APIRouter(tags=["learning"])

    async def run(call: Callable[[], Recorded | list[Recorded]]) -> JSONResponse:
        try:
            return _answer(await asyncio.to_thread(call))
        except LearningError as error:
            return refusal(error)

    def manager(principal: Principal, lscb: str) -> None:
        if principal.role is not Role.BUSINESS_MANAGER:
            raise forbid("only a board's business manager records learning")
        if not principal.manages_cases_for(lscb):
            raise forbid("a business manager records learning for their own board only")

    def not_future(field: str, day: date) -> None:
        if day > today():
            raise InvalidInput("may not be in the future", field)

    async def record(
        principal: CurrentPrincipal,
        body: ForumRequest | AuditRequest | LegacyReviewRequest,
        kind: SourceKind,
        on_field: str,
        document: dict[str, Any],
    ) -> JSONResponse:
        """Record one source a business manager gives: its board's tags, the date named by `on_field` (not in
        the future), its own fields in `document` beside its title, findings and recommendations."""
        manager(principal, body.lscb)
        on: date = getattr(body, on_field)
        legacy = body if isinstance(body, LegacyReviewRequest) else None
        try:
            not_future(on_field, on)
            source = SourceInput(
                kind=kind,
                lscb=body.lscb,
                reference=body.reference,
                on=on,
                themes=_tags(body.lscb, body.themes),
                document={"title": body.title, **document, on_field: on.isoformat()},
                single_agency=list(body.key_single_agency_recommendations),
                multi_agency=list(body.key_multi_agency_recommendations),
                review_type=None if legacy is None else legacy.review_type,
                incident_month=None if legacy is None else legacy.incident_month,
            )
        except LearningError as error:
            return refusal(error)
        hashed = request_hash(body.model_dump(mode="json"))
        return await run(lambda: app.record_source(principal.actor(), source, hashed))

    @router.post("/v1/learning/forums", status_code=201, responses=REFUSALS, summary="Record a practitioner forum")
    async def record_forum(body: ForumRequest, principal: CurrentPrincipal) -> JSONResponse:
        """A forum's theme, when it was held, the agencies there and what was learnt (rule E4)."""
        document = {"findings": body.what_was_learnt, "agencies": list(body.agencies)}
        return await record(principal, body, "forum", "held_on", document)

    @router.post("/v1/learning/audits", status_code=201, responses=REFUSALS, summary="Record a multi-case audit")
    async def record_audit(body: AuditRequest, principal: CurrentPrincipal) -> JSONResponse:
        """A multi-case audit's theme, the cases' count and its findings."""
        document = {"findings": body.findings, "cases_count": body.cases_count}
        return await record(principal, body, "audit", "completed_on", document)

    @router.post(
        "/v1/learning/legacy-reviews", status_code=201, responses=REFUSALS, summary="Import a review closed before LIF"
    )
    async def import_legacy_review(body: LegacyReviewRequest, principal: CurrentPrincipal) -> JSONResponse:
        """A review that closed before LIF, as a source of learning (its themes count for repeat learning)."""
        document = {
            "findings": body.learning_about_the_case,
            "how_impact_will_be_audited": body.how_impact_will_be_audited,
        }
        return await record(principal, body, "legacy_review", "closed_on", document)

    @router.get("/v1/learning/register", summary="The regional learning register")
    async def get_register(
        principal: CurrentPrincipal,
        limit: Limit = 100,
        offset: Offset = 0,
        lscb: Board = None,
        review_type: ReviewType | None = None,
        source_kind: SourceKindFilter | None = None,
        typology: TypologyName = None,
        code: Code = None,
        period_from: Period = None,
        period_to: PeriodTo = None,
    ) -> Any:
        """Every source of every board, newest first: the caller's own board in full, the others without
        case identifiers. A theme filter also finds learning tagged with crosswalked codes (`matched_by`)."""
        viewer = _reader(principal)
        try:
            filters = _filters(lscb, review_type, source_kind, typology, code, period_from, period_to)
        except LearningError as error:
            return refusal(error)
        return await queries.register(pool, viewer, filters, limit, offset)

    @router.get("/v1/learning/search", summary="Search learning by words and filters")
    async def search(
        principal: CurrentPrincipal,
        q: Annotated[str | None, Query(max_length=500, description="Words, as a web search takes them")] = None,
        limit: Limit = 20,
        offset: Offset = 0,
        lscb: Board = None,
        review_type: ReviewType | None = None,
        source_kind: SourceKindFilter | None = None,
        typology: TypologyName = None,
        code: Code = None,
        period_from: Period = None,
        period_to: PeriodTo = None,
    ) -> Any:
        """Ranked full-text search (English stemming; `"a phrase"`, `or`, `-word`) with highlighted snippets."""
        viewer = _reader(principal)
        try:
            filters = _filters(lscb, review_type, source_kind, typology, code, period_from, period_to)
        except LearningError as error:
            return refusal(error)
        if q is not None and "\x00" in q:
            return refusal(InvalidInput("may not hold a NUL character", "q"))
        return await queries.search(pool, viewer, q, filters, limit, offset)

    @router.get("/v1/learning/themes", summary="Per theme: sources, recommendations, overdue actions, impact")
    async def themes(
        principal: CurrentPrincipal, lscb: Board = None, period_from: Period = None, period_to: PeriodTo = None
    ) -> Any:
        _reader(principal)
        try:
            filters = _filters(lscb, None, None, None, None, period_from, period_to)
        except LearningError as error:
            return refusal(error)
        return {"themes": await queries.theme_figures(pool, today(), filters), "as_of": today().isoformat()}

    @router.get("/v1/learning/sources/{source_id}", summary="One source of learning")
    async def get_source(source_id: UUID, principal: CurrentPrincipal) -> Any:
        viewer = _reader(principal)
        row = await queries.source(pool, source_id)
        if row is None:
            raise not_found()
        return queries.entry(row, viewer)

    @router.post("/v1/learning/sources/{source_id}/erasure", summary="Erase a source's texts (admin)")
    async def erase(source_id: UUID, principal: CurrentPrincipal) -> Any:
        """Every text of the source leaves the store and the search index; the events keep their facts."""
        if principal.role is not Role.ADMIN:
            raise forbid("only an admin erases texts")
        if not await erase_source(pool, source_id):
            raise not_found()
        return {"source_id": str(source_id), "erased": True}

    @router.get("/v1/learning/recommendations", summary="Recommendations tracked to impact")
    async def list_recommendations(
        principal: CurrentPrincipal,
        lscb: Board = None,
        typology: TypologyName = None,
        code: Code = None,
        period_from: Period = None,
        period_to: PeriodTo = None,
    ) -> Any:
        viewer = _reader(principal)
        try:
            filters = _filters(lscb, None, None, typology, code, period_from, period_to)
        except LearningError as error:
            return refusal(error)
        found = await queries.recommendations(pool, today(), filters, viewer)
        return {"recommendations": found, "as_of": today().isoformat()}

    def tracked(recommendation_id: UUID, principal: Principal, *, manage: bool) -> None:
        try:
            rec = app.recommendation(recommendation_id)
        except LearningError:
            raise not_found() from None
        lscb = rec.state.tracked.lscb
        if manage:
            if principal.role is not Role.BUSINESS_MANAGER:
                raise forbid("only a board's business manager tracks recommendations")
            if not principal.manages_cases_for(lscb):
                raise not_found()
        else:
            _reader(principal)

    @router.get("/v1/learning/recommendations/{recommendation_id}", summary="A recommendation and its actions")
    async def get_recommendation(recommendation_id: UUID, principal: CurrentPrincipal) -> Any:
        """The recommendation's text, its actions (with their descriptions) and impact evidence (with its
        findings), as the business manager wrote them; a text erased since shows as null, `*_erased` true."""
        await asyncio.to_thread(tracked, recommendation_id, principal, manage=False)
        rec = await asyncio.to_thread(app.recommendation, recommendation_id)
        state = rec.state
        lscb = state.tracked.lscb
        refs = [
            state.tracked.payload.text.document_id,
            *(a.description.document_id for a in state.actions.values()),
            *(e.payload.finding.document_id for e in state.evidence),
        ]
        written = await queries.texts(pool, lscb, refs)

        def shown(name: str, document_id: UUID) -> dict[str, Any]:
            """The text as written (null once erased), and whether it was erased."""
            text = written.get(document_id)
            return {name: text, f"{name}_erased": text is None}

        return {
            "recommendation_id": str(recommendation_id),
            "source_id": str(state.tracked.payload.source_id),
            "lscb": lscb,
            "scope": state.tracked.payload.scope,
            "agency": state.tracked.payload.agency,
            **shown("text", state.tracked.payload.text.document_id),
            "themes": [t.model_dump() for t in state.tracked.payload.themes],
            "actions": [
                {
                    "action_id": str(a.action_id),
                    "owning_agency": a.owning_agency,
                    "due": a.due.isoformat(),
                    "status": a.status,
                    "overdue": a.status in ("open", "in_progress") and a.due < today(),
                    **shown("description", a.description.document_id),
                }
                for a in state.actions.values()
            ],
            "impact_evidence": [
                {
                    "evidence_id": str(e.payload.evidence_id),
                    "audited_on": e.payload.audited_on.isoformat(),
                    "result": e.payload.result,
                    "reaudit_id": None if e.payload.reaudit_id is None else str(e.payload.reaudit_id),
                    **shown("finding", e.payload.finding.document_id),
                }
                for e in state.evidence
            ],
            "reaudits_due": [{"reaudit_id": str(k), "due": v.isoformat()} for k, v in state.reaudits.items()],
        }

    @router.post(
        "/v1/learning/recommendations/{recommendation_id}/actions",
        status_code=201,
        responses=KEYED_REFUSALS,
        summary="Add an action (owning agency, due date)",
    )
    async def add_action(
        recommendation_id: UUID, body: ActionRequest, principal: CurrentPrincipal, idempotent: Idempotent
    ) -> JSONResponse:
        await asyncio.to_thread(tracked, recommendation_id, principal, manage=True)
        key, hashed = keyed(idempotent)
        return await run(
            lambda: app.add_action(
                recommendation_id, principal.actor(), body.owning_agency, body.due, body.description, key, hashed
            )
        )

    @router.post(
        "/v1/learning/recommendations/{recommendation_id}/actions/{action_id}",
        status_code=201,
        responses=KEYED_REFUSALS,
        summary="Move an action's due date or change its status",
    )
    async def update_action(
        recommendation_id: UUID,
        action_id: UUID,
        body: ActionUpdateRequest,
        principal: CurrentPrincipal,
        idempotent: Idempotent,
    ) -> JSONResponse:
        await asyncio.to_thread(tracked, recommendation_id, principal, manage=True)
        on = body.on or today()
        if on > today():
            return refusal(InvalidInput("may not be in the future", "on"))
        key, hashed = keyed(idempotent)
        return await run(
            lambda: app.update_action(
                recommendation_id,
                action_id,
                principal.actor(),
                status=body.status,
                due=body.due,
                on=on,
                key=key,
                hashed=hashed,
            )
        )

    @router.post(
        "/v1/learning/recommendations/{recommendation_id}/impact-evidence",
        status_code=201,
        responses=KEYED_REFUSALS,
        summary="Record an audit of the recommendation's impact",
    )
    async def record_impact(
        recommendation_id: UUID, body: ImpactRequest, principal: CurrentPrincipal, idempotent: Idempotent
    ) -> JSONResponse:
        await asyncio.to_thread(tracked, recommendation_id, principal, manage=True)
        if body.audited_on > today():
            return refusal(InvalidInput("may not be in the future", "audited_on"))
        key, hashed = keyed(idempotent)
        reaudit = None if body.reaudit_id is None else UUID(body.reaudit_id)
        return await run(
            lambda: app.record_impact(
                recommendation_id, principal.actor(), body.audited_on, body.result, body.finding, reaudit, key, hashed
            )
        )

    @router.post(
        "/v1/learning/recommendations/{recommendation_id}/reaudits",
        status_code=201,
        responses=KEYED_REFUSALS,
        summary="Schedule a re-audit",
    )
    async def schedule_reaudit(
        recommendation_id: UUID, body: ReauditRequest, principal: CurrentPrincipal, idempotent: Idempotent
    ) -> JSONResponse:
        await asyncio.to_thread(tracked, recommendation_id, principal, manage=True)
        key, hashed = keyed(idempotent)
        return await run(lambda: app.schedule_reaudit(recommendation_id, principal.actor(), body.due, key, hashed))

    return router
