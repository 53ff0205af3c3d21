"""HTTP adapter of review orchestration: every command and view under `/v1/reviews/{review_id}`.

A review's id is `uuid5` of its case id; `/v1/cases/{case_id}/review` finds it from the case. Who may do
what is in `access.py` (rules.md section 3). Free text in a request is written to the erasable store only
once the command is accepted. Refusals: 404 (not found or out of scope), 403 (role), 409 (the review's
state), 422 (one message per bad field; body validation relies on the app's RequestValidationError handler).
Every command takes an optional `Idempotency-Key` (`lif.idempotency`): the same key with the same request
answers 200 with the event the first call recorded; with a different request it is refused (422 naming the
key). The event's id comes from the key, and the request's hash is noted with it in the review's log.
Endpoints are plain `def`: FastAPI runs them in its thread pool, as the application is blocking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from uuid import UUID, uuid5

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response

from events.envelope import Actor, EventEnvelope
from events.fields import Line
from events.orchestration import STAGE_ID_PATTERN, Agency, Group, Principles
from lif.auth import CurrentPrincipal, Principal
from lif.boards import get_board
from lif.clock import Today, today_london
from lif.idempotency import REPEAT, Idempotency, Idempotent, KeyReused, repeat_of
from services.orchestration.access import Action, gate
from services.orchestration.api_models import (
    ChronologyCorrectionRequest,
    ChronologyEntryRequest,
    CloseRequest,
    FinalReportRequest,
    FindingsRequest,
    HeldRequest,
    HoldRequest,
    LiftRequest,
    MemberRequest,
    MoveRequest,
    OutcomeRequest,
    ParallelProcessRequest,
    ParallelProcessUpdateRequest,
    PublishRequest,
    Recorded,
    ResponseRequest,
    ScheduleRequest,
)
from services.orchestration.application import OrchestrationApplication
from services.orchestration.chronology import EntryInput, TimelineEntry
from services.orchestration.commands import CaseGroupResponse, StageOutcome
from services.orchestration.domain import review_id_for
from services.orchestration.errors import ConcurrentChange, InvalidInput, OrchestrationError
from services.orchestration.learning import LearningSummaryRequest, LearningSummaryView, summary_facts
from services.orchestration.state import ReviewState
from services.orchestration.texts import PendingTexts, Texts, TextStore
from services.orchestration.views import ConsultationView, ReviewView, consultation_view, review_view

REFUSALS: dict[int | str, dict[str, Any]] = {
    200: REPEAT,
    403: {"description": "The caller's role may not do this"},
    404: {"description": "No such review, or outside the caller's scope"},
    409: {"description": "The review's state does not allow it (order, hold, missing summary, ...)"},
    422: {"description": "Invalid input: one message per bad field"},
}
Command = Callable[[ReviewState, Actor, PendingTexts], EventEnvelope]
StageId = Annotated[str, Path(pattern=STAGE_ID_PATTERN, description="A stage id of the review's plan")]
MemberId = Annotated[Line, Path(min_length=1, max_length=200, description="The member's id")]


Keyed = Idempotent


def actor_for(principal: Principal) -> Actor:
    return Actor(kind="person", id=principal.name, role=principal.role.value)


def refusal(error: OrchestrationError) -> JSONResponse:
    if error.status == 422:
        return JSONResponse(status_code=422, content={"detail": [{"field": error.field, "message": error.message}]})
    return JSONResponse(status_code=error.status, content={"detail": error.message})


def build_router(app: OrchestrationApplication, store: TextStore, *, today: Today = today_london) -> APIRouter:
    """The review endpoints over `app`, keeping free text in `store` (the service's ErasableStore)."""
    router = APIRouter(tags=["reviews"])
    texts = Texts(store)

    def load(review_id: UUID, principal: Principal, action: Action) -> ReviewState:
        return gate(principal, app.get_review(review_id), action)

    def command(
        review_id: UUID,
        principal: Principal,
        action: Action,
        call: Command,
        status: int = 201,
        repeat: Idempotency | None = None,
    ) -> Response:
        state = load(review_id, principal, action)
        event_id = None if repeat is None else uuid5(review_id, repeat.key)
        try:
            if (earlier := first_of(state, event_id, repeat)) is not None:
                return recorded(review_id, earlier, 200)
            with app.recording_as(event_id, None if repeat is None else repeat.request_hash):
                event = call(state, actor_for(principal), texts.pending(state.lscb, state.case_id))
        except ConcurrentChange as error:  # the same request at the same moment: the first one's event
            try:
                earlier = first_of(app.require(review_id), event_id, repeat)
            except KeyReused as reused:
                return refusal(InvalidInput(reused.message, reused.field))
            return recorded(review_id, earlier, 200) if earlier is not None else refusal(error)
        except KeyReused as reused:
            return refusal(InvalidInput(reused.message, reused.field))
        except OrchestrationError as error:
            return refusal(error)
        return recorded(review_id, event, status)

    def first_of(state: ReviewState, event_id: UUID | None, repeat: Idempotency | None) -> EventEnvelope | None:
        """The event the key recorded on this review (None: a new command); `KeyReused` for another request."""
        if event_id is None or repeat is None:
            return None
        return repeat_of(state.keyed.get(event_id), repeat)

    def recorded(review_id: UUID, event: EventEnvelope, status: int) -> JSONResponse:
        body = Recorded(review_id=review_id, event=event.model_dump(mode="json"))
        return JSONResponse(status_code=status, content=body.model_dump(mode="json"))

    def post(path: str, summary: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return router.post(path, status_code=201, response_model=Recorded, summary=summary, responses=REFUSALS)

    # --- views ---------------------------------------------------------------------------------------------------

    @router.get("/v1/reviews/{review_id}", response_model=ReviewView, summary="A review: plan, progress, groups")
    def get_review(review_id: UUID, principal: CurrentPrincipal) -> ReviewView:
        """Current stage, stages overdue against the plan, T6 progress, groups, holds and completion."""
        return review_view(load(review_id, principal, "read"), today())

    @router.get("/v1/cases/{case_id}/review", response_model=ReviewView, summary="The review of a case")
    def get_case_review(case_id: UUID, principal: CurrentPrincipal) -> ReviewView:
        return review_view(load(review_id_for(case_id), principal, "read"), today())

    @router.get(
        "/v1/reviews/{review_id}/chronologies",
        response_model=list[TimelineEntry],
        summary="The merged SPE timeline of every agency",
    )
    def get_timeline(review_id: UUID, principal: CurrentPrincipal) -> list[TimelineEntry]:
        """Current version of each entry, by date then agency; entries with no 'yes' are flagged not significant."""
        load(review_id, principal, "read")
        return app.timeline(review_id, texts)

    @router.get(
        "/v1/reviews/{review_id}/chronologies/{agency}/entries/{entry_id}",
        response_model=list[TimelineEntry],
        summary="Every version of one chronology entry",
        responses=REFUSALS,
    )
    def get_entry_history(review_id: UUID, agency: Agency, entry_id: UUID, principal: CurrentPrincipal) -> Any:
        load(review_id, principal, "read")
        try:
            history = app.entry_history(review_id, entry_id, texts)
        except OrchestrationError as error:
            return refusal(error)
        if history[0].agency != agency:
            return JSONResponse(status_code=404, content={"detail": f"no chronology entry {entry_id} from {agency}"})
        return history

    @router.get(
        "/v1/reviews/{review_id}/consultation",
        response_model=ConsultationView,
        summary="Findings shared with the Case Group and the responses",
    )
    def get_consultation(review_id: UUID, principal: CurrentPrincipal) -> ConsultationView:
        return consultation_view(load(review_id, principal, "read"), texts)

    @router.get(
        "/v1/reviews/{review_id}/learning-summary",
        response_model=LearningSummaryView,
        summary="The Learning Summary (Appendix B) as JSON",
        responses=REFUSALS,
    )
    def get_learning_summary(review_id: UUID, principal: CurrentPrincipal) -> Any:
        """Every Appendix B field; `summary` is null once its text was erased (the facts stay)."""
        load(review_id, principal, "read")
        view = app.learning_summary(review_id, texts)
        if view is None:
            return JSONResponse(status_code=404, content={"detail": "no learning summary has been recorded"})
        return view

    # --- stages --------------------------------------------------------------------------------------------------

    @post("/v1/reviews/{review_id}/stages/{stage_id}/schedule", "Schedule a stage (date and planned duration)")
    def schedule(
        review_id: UUID, stage_id: StageId, body: ScheduleRequest, principal: CurrentPrincipal, repeat: Keyed
    ) -> Response:
        return command(
            review_id,
            principal,
            "run",
            lambda s, a, t: app.schedule_stage(s.review_id, a, stage_id, body.scheduled_for, body.planned_duration),
            repeat=repeat,
        )

    @post("/v1/reviews/{review_id}/stages/{stage_id}/held", "Record that a stage was held")
    def held(
        review_id: UUID, stage_id: StageId, body: HeldRequest, principal: CurrentPrincipal, repeat: Keyed
    ) -> Response:
        return command(
            review_id,
            principal,
            "contribute",
            lambda s, a, t: app.record_stage_held(s.review_id, a, stage_id, body.held_on),
            repeat=repeat,
        )

    @post("/v1/reviews/{review_id}/stages/{stage_id}/outcome", "Record a held stage's outcome")
    def outcome(
        review_id: UUID, stage_id: StageId, body: OutcomeRequest, principal: CurrentPrincipal, repeat: Keyed
    ) -> Response:
        def call(s: ReviewState, a: Actor, t: PendingTexts) -> EventEnvelope:
            result = StageOutcome(
                body.result, body.agencies_present, body.actions_agreed, t.optional("stage_note", body.note)
            )
            return app.record_stage_outcome(s.review_id, a, stage_id, result, texts=t)

        return command(review_id, principal, "contribute", call, repeat=repeat)

    @post("/v1/reviews/{review_id}/stages/{stage_id}/move", "Move a stage with a reason the plan allows")
    def move(
        review_id: UUID, stage_id: StageId, body: MoveRequest, principal: CurrentPrincipal, repeat: Keyed
    ) -> Response:
        def call(s: ReviewState, a: Actor, t: PendingTexts) -> EventEnvelope:
            note = t.optional("stage_move_note", body.note)
            return app.move_stage(s.review_id, a, stage_id, body.reason, body.new_due, note, texts=t)

        return command(review_id, principal, "run", call, repeat=repeat)

    # --- groups and consultation ------------------------------------------------------------------------------

    @post("/v1/reviews/{review_id}/members", "Add a Review Group or Case Group member")
    def add_member(review_id: UUID, body: MemberRequest, principal: CurrentPrincipal, repeat: Keyed) -> Response:
        return command(
            review_id,
            principal,
            "run",
            lambda s, a, t: app.add_member(s.review_id, a, body.group, body.member_id, body.role, body.agency),
            repeat=repeat,
        )

    @router.delete(
        "/v1/reviews/{review_id}/members/{group}/{member_id}",
        response_model=Recorded,
        summary="Remove a member (records member_removed)",
        responses=REFUSALS,
    )
    def remove_member(
        review_id: UUID,
        group: Group,
        member_id: MemberId,
        principal: CurrentPrincipal,
        repeat: Keyed,
        reason: Literal["left", "replaced", "added_in_error", "not_independent", "other"] = Query(default="left"),
    ) -> Response:
        return command(
            review_id,
            principal,
            "run",
            lambda s, a, t: app.remove_member(s.review_id, a, group, member_id, reason),
            status=200,
            repeat=repeat,
        )

    @post("/v1/reviews/{review_id}/findings", "Share (a new version of) the findings with the Case Group")
    def share_findings(review_id: UUID, body: FindingsRequest, principal: CurrentPrincipal, repeat: Keyed) -> Response:
        def call(s: ReviewState, a: Actor, t: PendingTexts) -> EventEnvelope:
            return app.share_findings(s.review_id, a, t.ref("findings", body.findings), body.shared_on, texts=t)

        return command(review_id, principal, "contribute", call, repeat=repeat)

    @post("/v1/reviews/{review_id}/consultation/responses", "Record a Case Group member's response")
    def respond(review_id: UUID, body: ResponseRequest, principal: CurrentPrincipal, repeat: Keyed) -> Response:
        def call(s: ReviewState, a: Actor, t: PendingTexts) -> EventEnvelope:
            response = CaseGroupResponse(
                member_id=body.member_id,
                findings_version=body.findings_version,
                response=body.response,
                responded_on=body.responded_on,
                comments=t.optional("consultation_comments", body.comments),
                corrections=[t.ref("consultation_correction", c) for c in body.corrections],
            )
            return app.record_case_group_response(s.review_id, a, response, texts=t)

        return command(review_id, principal, "contribute", call, repeat=repeat)

    # --- chronologies -------------------------------------------------------------------------------------------

    def entry_input(body: ChronologyEntryRequest, t: PendingTexts) -> EntryInput:
        return EntryInput(
            event_date=body.event_date,
            description=t.ref("chronology_description", body.description),
            principles=Principles(
                risk=t.optional("chronology_risk", body.risk),
                response=t.optional("chronology_response", body.response),
                partnership=t.optional("chronology_partnership", body.partnership),
                learning=t.optional("chronology_learning", body.learning),
            ),
            learning_flags=body.learning_flags,
            significance=body.significance,
        )

    @post("/v1/reviews/{review_id}/chronologies/{agency}/entries", "Submit an SPE chronology entry for an agency")
    def submit_entry(
        review_id: UUID, agency: Agency, body: ChronologyEntryRequest, principal: CurrentPrincipal, repeat: Keyed
    ) -> Response:
        def call(s: ReviewState, a: Actor, t: PendingTexts) -> EventEnvelope:
            return app.submit_chronology_entry(s.review_id, a, agency, entry_input(body, t), texts=t)

        return command(review_id, principal, "contribute", call, repeat=repeat)

    @post(
        "/v1/reviews/{review_id}/chronologies/{agency}/entries/{entry_id}/corrections",
        "Correct a chronology entry (a new version; the history stays)",
    )
    def correct_entry(
        review_id: UUID,
        agency: Agency,
        entry_id: UUID,
        body: ChronologyCorrectionRequest,
        principal: CurrentPrincipal,
        repeat: Keyed,
    ) -> Response:
        def call(s: ReviewState, a: Actor, t: PendingTexts) -> EventEnvelope:
            reason = t.optional("chronology_correction_reason", body.reason)
            return app.correct_chronology_entry(s.review_id, a, agency, entry_id, entry_input(body, t), reason, texts=t)

        return command(review_id, principal, "contribute", call, repeat=repeat)

    # --- parallel processes and publication holds ------------------------------------------------------------

    @post("/v1/reviews/{review_id}/parallel-processes", "Link a parallel process (DHR, MAPPA SCR, inquest, ...)")
    def link_process(
        review_id: UUID, body: ParallelProcessRequest, principal: CurrentPrincipal, repeat: Keyed
    ) -> Response:
        def call(s: ReviewState, a: Actor, t: PendingTexts) -> EventEnvelope:
            reference = t.id_only("parallel_process_reference", body.reference)
            return app.link_parallel_process(
                s.review_id, a, body.kind, reference, body.started_on, body.status, texts=t
            )

        return command(review_id, principal, "run", call, repeat=repeat)

    @post("/v1/reviews/{review_id}/parallel-processes/{link_id}", "Update a parallel process's status")
    def update_process(
        review_id: UUID, link_id: UUID, body: ParallelProcessUpdateRequest, principal: CurrentPrincipal, repeat: Keyed
    ) -> Response:
        return command(
            review_id,
            principal,
            "run",
            lambda s, a, t: app.update_parallel_process(s.review_id, a, link_id, body.status, body.on),
            repeat=repeat,
        )

    @post("/v1/reviews/{review_id}/publication-holds", "Hold publication (e.g. while a criminal trial runs)")
    def set_hold(review_id: UUID, body: HoldRequest, principal: CurrentPrincipal, repeat: Keyed) -> Response:
        return command(
            review_id,
            principal,
            "hold",
            lambda s, a, t: app.set_publication_hold(s.review_id, a, body.reason, body.linked_process, body.set_on),
            repeat=repeat,
        )

    @post("/v1/reviews/{review_id}/publication-holds/{hold_id}/lift", "Lift a publication hold (the Chair)")
    def lift_hold(
        review_id: UUID, hold_id: UUID, body: LiftRequest, principal: CurrentPrincipal, repeat: Keyed
    ) -> Response:
        return command(
            review_id,
            principal,
            "lift_hold",
            lambda s, a, t: app.lift_publication_hold(s.review_id, a, hold_id, body.lifted_on),
            repeat=repeat,
        )

    # --- completion ---------------------------------------------------------------------------------------------

    @post("/v1/reviews/{review_id}/final-report", "Record (a version of) the final report")
    def final_report(review_id: UUID, body: FinalReportRequest, principal: CurrentPrincipal, repeat: Keyed) -> Response:
        def call(s: ReviewState, a: Actor, t: PendingTexts) -> EventEnvelope:
            return app.record_final_report(
                s.review_id, a, t.ref("final_report", body.report), body.received_on, texts=t
            )

        return command(review_id, principal, "contribute", call, repeat=repeat)

    @post("/v1/reviews/{review_id}/learning-summary", "Record the Learning Summary with every Appendix B field")
    def learning_summary(
        review_id: UUID, body: LearningSummaryRequest, principal: CurrentPrincipal, repeat: Keyed
    ) -> Response:
        def call(s: ReviewState, a: Actor, t: PendingTexts) -> EventEnvelope:
            board = get_board(s.lscb)
            document = body.model_copy(update={"lscb_area": body.lscb_area or (board.name if board else s.lscb)})
            return app.record_learning_summary(s.review_id, a, summary_facts(t, document), texts=t)

        return command(review_id, principal, "contribute", call, repeat=repeat)

    @post("/v1/reviews/{review_id}/publication", "Publish the final report (the Chair; T7 date recorded)")
    def publish(review_id: UUID, body: PublishRequest, principal: CurrentPrincipal, repeat: Keyed) -> Response:
        return command(
            review_id,
            principal,
            "publish",
            lambda s, a, t: app.publish(s.review_id, a, body.published_on),
            repeat=repeat,
        )

    @post("/v1/reviews/{review_id}/close", "Close the review (needs its Learning Summary)")
    def close(review_id: UUID, body: CloseRequest, principal: CurrentPrincipal, repeat: Keyed) -> Response:
        return command(
            review_id, principal, "run", lambda s, a, t: app.close_review(s.review_id, a, body.closed_on), repeat=repeat
        )

    return router
