"""Parallel processes, publication holds, the final report, the Learning Summary, publication and closure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal
from uuid import UUID, uuid4

from events.decisioning import DocumentRef
from events.envelope import Actor
from events.orchestration import (
    FinalReportRecorded,
    FinalReportRecordedPayload,
    LearningSummaryRecorded,
    LearningSummaryRecordedPayload,
    ParallelProcessKind,
    ParallelProcessLinked,
    ParallelProcessLinkedPayload,
    ParallelProcessUpdated,
    ParallelProcessUpdatedPayload,
    PublicationHoldLifted,
    PublicationHoldLiftedPayload,
    PublicationHoldSet,
    PublicationHoldSetPayload,
    ReviewClosed,
    ReviewClosedPayload,
    ReviewPublished,
    ReviewPublishedPayload,
)
from lif.typology import board_typology
from services.orchestration.commands import case_of
from services.orchestration.envelopes import new_event
from services.orchestration.errors import (
    Conflict,
    FinalReportRequired,
    InvalidInput,
    LearningSummaryRequired,
    NotFound,
    PublicationOnHold,
)
from services.orchestration.guards import check_order, require_not_before, require_open, require_review
from services.orchestration.plans import add_months
from services.orchestration.state import ReviewState

T7_MONTHS = 12
"""T7: a published report stays available for at least 12 months."""

Status = Literal["ongoing", "concluded"]


def link_parallel_process(
    state: ReviewState,
    actor: Actor,
    kind: ParallelProcessKind,
    reference_document_id: UUID | None,
    started_on: date | None,
    status: Status,
) -> ParallelProcessLinked:
    require_open(state)
    payload = ParallelProcessLinkedPayload(
        link_id=uuid4(), kind=kind, reference_document_id=reference_document_id, started_on=started_on, status=status
    )
    return new_event(ParallelProcessLinked, case_of(state), payload, actor=actor)


def update_parallel_process(
    state: ReviewState, actor: Actor, link_id: UUID, status: Status, on: date
) -> ParallelProcessUpdated:
    require_open(state)
    linked = state.parallel.get(link_id)
    if linked is None:
        raise NotFound(f"no parallel process {link_id} is linked to this review")
    if linked.status == status:
        raise Conflict(f"the {linked.kind} is already {status}")
    payload = ParallelProcessUpdatedPayload(link_id=link_id, status=status, on=on)
    return new_event(ParallelProcessUpdated, case_of(state), payload, actor=actor, on=on)


def set_publication_hold(
    state: ReviewState,
    actor: Actor,
    reason: Literal["criminal_trial", "inquest", "other"],
    linked_process: UUID | None,
    set_on: date,
) -> PublicationHoldSet:
    require_open(state)
    if linked_process is not None and linked_process not in state.parallel:
        raise InvalidInput(f"no parallel process {linked_process} is linked to this review", "linked_process")
    payload = PublicationHoldSetPayload(hold_id=uuid4(), reason=reason, linked_process=linked_process, set_on=set_on)
    return new_event(PublicationHoldSet, case_of(state), payload, actor=actor, on=set_on)


def lift_publication_hold(state: ReviewState, actor: Actor, hold_id: UUID, lifted_on: date) -> PublicationHoldLifted:
    require_open(state)
    hold = state.holds.get(hold_id)
    if hold is None:
        raise NotFound(f"no publication hold {hold_id} on this review")
    if hold.lifted_on is not None:
        raise Conflict(f"the hold was already lifted on {hold.lifted_on}")
    require_not_before(lifted_on, hold.set.set_on, "lifted_on", "the hold was set")
    payload = PublicationHoldLiftedPayload(hold_id=hold_id, lifted_on=lifted_on)
    return new_event(PublicationHoldLifted, case_of(state), payload, actor=actor, on=lifted_on)


def record_final_report(
    state: ReviewState, actor: Actor, report: DocumentRef, received_on: date
) -> FinalReportRecorded:
    require_review(state, "a final report")
    payload = FinalReportRecordedPayload(version=len(state.final_reports) + 1, report=report, received_on=received_on)
    return new_event(FinalReportRecorded, case_of(state), payload, actor=actor, on=received_on)


@dataclass(frozen=True)
class LearningSummaryFacts:
    """What the event keeps of a Learning Summary; every Appendix B field is in the `summary` document."""

    summary: DocumentRef
    reference_code: str
    themes: list[str]
    completed_on: date
    incident_month: str


def record_learning_summary(state: ReviewState, actor: Actor, facts: LearningSummaryFacts) -> LearningSummaryRecorded:
    require_review(state, "a learning summary")
    typology = board_typology(state.lscb)
    unknown = typology.check(facts.themes)
    if unknown:
        raise InvalidInput(
            f"themes not in the board's typology {typology.ref}: {', '.join(unknown)}", "learning_about_the_case.themes"
        )
    payload = LearningSummaryRecordedPayload(
        summary=facts.summary,
        reference_code=facts.reference_code,
        themes=list(dict.fromkeys(facts.themes)),
        typology=typology.name,
        typology_version=typology.version,
        completed_on=facts.completed_on,
        incident_month=facts.incident_month,
        review_kind=state.review_kind,  # type: ignore[arg-type]
        method=state.method,
    )
    return new_event(LearningSummaryRecorded, case_of(state), payload, actor=actor, on=facts.completed_on)


def publish(state: ReviewState, actor: Actor, published_on: date) -> ReviewPublished:
    """Publication: a final report, no active hold, and every stage the plan puts first (T8: family involvement)."""
    require_review(state, "publication")
    step = state.step("publication")
    if step is None:
        raise Conflict(f"the plan {state.plan_id} has no publication step")
    if state.published is not None:
        raise Conflict(f"the review was already published on {state.published.published_on}")
    report = state.latest_report()
    if report is None:
        raise FinalReportRequired("record the final report before publishing it")
    _no_active_hold(state, "published")
    check_order(state, step, published_on)
    payload = ReviewPublishedPayload(
        published_on=published_on,
        available_until=add_months(published_on, T7_MONTHS),
        final_report_version=report.version,
    )
    return new_event(ReviewPublished, case_of(state), payload, actor=actor, on=published_on)


def close(state: ReviewState, actor: Actor, closed_on: date) -> ReviewClosed:
    """Closure: the Learning Summary, no active hold, and the plan's order (an SCR is published first)."""
    require_review(state, "closing")
    summary = state.learning_summary
    if summary is None:
        raise LearningSummaryRequired("a review closes only with its Learning Summary (Appendix B): record it first")
    _no_active_hold(state, "closed")
    step = state.step("closure")
    assert step is not None  # every review plan has one (checked when plans load)
    check_order(state, step, closed_on)
    payload = ReviewClosedPayload(
        closed_on=closed_on,
        reference_code=summary.reference_code,
        themes=list(summary.themes),
        typology=summary.typology,
        typology_version=summary.typology_version,
        published=state.published is not None,
    )
    return new_event(ReviewClosed, case_of(state), payload, actor=actor, on=closed_on)


def _no_active_hold(state: ReviewState, what: str) -> None:
    active = state.active_holds()
    if active:
        reasons = ", ".join(sorted({h.set.reason.replace("_", " ") for h in active}))
        raise PublicationOnHold(f"publication is on hold ({reasons}): the review cannot be {what} until it is lifted")
