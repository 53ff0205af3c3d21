"""Review orchestration: one review process per case under review, driven by decisioning and by people.

Upstream events (decisioning's log or topic) are handled with eventsourcing tracking records written in
the same transaction as the events they cause, and recognised by event id (`CaseWatch`), so redelivery
and republication at a new position are both no-ops. Commands check the process's state, record one
event, and raise an `OrchestrationError` (with its HTTP status) when refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from typing import Any, Literal
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.persistence import IntegrityError

from events.decisioning import DocumentRef, RecommendationRecorded
from events.envelope import Actor, EventEnvelope
from events.orchestration import Agency, Duration, Group, MemberRole, ParallelProcessKind
from lif.clock import Today, today_london
from lif.delivery.delivered import Delivered
from lif.delivery.tracking import TrackingApplication
from services.orchestration import chronology, commands, completion
from services.orchestration.chronology import EntryInput, TimelineEntry
from services.orchestration.commands import CaseGroupResponse, StageOutcome
from services.orchestration.completion import LearningSummaryFacts
from services.orchestration.domain import CaseWatch, ReviewProcess, review_id_for
from services.orchestration.envelopes import wire
from services.orchestration.errors import ConcurrentChange, NotFound
from services.orchestration.learning import LearningSummaryView, summary_view
from services.orchestration.state import ReviewState
from services.orchestration.texts import PendingTexts, Texts
from services.orchestration.upstream import UPSTREAM_EVENTS, react

_EVENT_ID: ContextVar[tuple[UUID, str] | None] = ContextVar("orchestration_event_id", default=None)
"""The id the next command in this context records its event under and the request hash noted with it (a
request with an Idempotency-Key)."""


class OrchestrationApplication(TrackingApplication):
    name = "orchestration"
    conflict_error = ConcurrentChange

    def __init__(self, env: Mapping[str, str] | None = None, *, today: Today = today_london) -> None:
        super().__init__(env=env)
        self.today = today

    # --- upstream events --------------------------------------------------------------------------------------

    def collect(self, delivered: Delivered, processing: ProcessingEvent[UUID], seen: dict[UUID, Any]) -> bool:
        """An upstream event not seen before: the review's reactions to it, and the case's watch notes it."""
        event = delivered.event
        if not isinstance(event, UPSTREAM_EVENTS):
            return False
        watch_id, review_id = CaseWatch.id_for(event.case_id), review_id_for(event.case_id)
        watch = seen.get(watch_id) or self._watch(event.case_id)
        if watch is not None and watch.has_seen(event.event_id):
            return False
        watch = watch or CaseWatch(event.case_id)
        process = seen.get(review_id) or self._process(review_id)
        reactions = react(
            event,
            None if process is None else process.state,
            watch.rule_pack,
            watch.recommendation_deadlines(),
        )
        process = _record_all(process, reactions)
        rec = event.payload.recommendation if isinstance(event, RecommendationRecorded) else None
        watch.see(
            str(event.event_id),
            rec.rule_pack if rec else None,
            {k: v.isoformat() for k, v in rec.deadlines.items()} if rec else None,
        )
        processing.collect_events(watch, process)
        seen[watch_id] = watch
        if process is not None:
            seen[review_id] = process
        return bool(reactions)

    # --- reads --------------------------------------------------------------------------------------------------

    def get_review(self, review_id: UUID) -> ReviewState | None:
        process = self._process(review_id)
        return None if process is None else process.state

    def review_for_case(self, case_id: UUID) -> ReviewState | None:
        return self.get_review(review_id_for(case_id))

    def open_pre_decision_stages(self, case_id: UUID) -> list[dict[str, str | None]]:
        """The case's stages 1-3 not yet held (what a Chair's decision leaves open), for the decision's answer."""
        state = self.review_for_case(case_id)
        if state is None:
            return []
        return [
            {"stage_id": s.stage_id, "name": s.planned.name, "due": s.due.isoformat() if s.due else None}
            for s in state.open_pre_decision_stages()
        ]

    def require(self, review_id: UUID) -> ReviewState:
        state = self.get_review(review_id)
        if state is None:
            raise NotFound(f"no review {review_id}")
        return state

    def timeline(self, review_id: UUID, texts: Texts) -> list[TimelineEntry]:
        """Every agency's SPE chronology merged: current versions by date, then agency."""
        return chronology.merged_timeline(
            self.require(review_id),
            texts,
        )

    def entry_history(self, review_id: UUID, entry_id: UUID, texts: Texts) -> list[TimelineEntry]:
        return chronology.entry_history(self.require(review_id), entry_id, texts)

    def learning_summary(self, review_id: UUID, texts: Texts) -> LearningSummaryView | None:
        state = self.require(review_id)
        return None if state.learning_summary is None else summary_view(state, state.learning_summary, texts)

    # --- commands (blocking: call them in a thread from async code) ---------------------------------------------

    def schedule_stage(
        self,
        review_id: UUID,
        actor: Actor,
        stage_id: str,
        on: date,
        duration: Duration,
        *,
        texts: PendingTexts | None = None,
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: commands.schedule_stage(s, actor, stage_id, on, duration),
            texts,
        )

    def record_stage_held(
        self, review_id: UUID, actor: Actor, stage_id: str, held_on: date, *, texts: PendingTexts | None = None
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: commands.record_stage_held(s, actor, stage_id, held_on, self.today()),
            texts,
        )

    def record_stage_outcome(
        self, review_id: UUID, actor: Actor, stage_id: str, outcome: StageOutcome, *, texts: PendingTexts | None = None
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: commands.record_stage_outcome(s, actor, stage_id, outcome),
            texts,
        )

    def move_stage(
        self,
        review_id: UUID,
        actor: Actor,
        stage_id: str,
        reason: str,
        new_due: date | None,
        note: DocumentRef | None,
        *,
        texts: PendingTexts | None = None,
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: commands.move_stage(s, actor, stage_id, reason, new_due, note),
            texts,
        )

    def add_member(
        self,
        review_id: UUID,
        actor: Actor,
        group: Group,
        member_id: str,
        role: MemberRole,
        agency: Agency | None,
        *,
        texts: PendingTexts | None = None,
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: commands.add_member(s, actor, group, member_id, role, agency),
            texts,
        )

    def remove_member(
        self,
        review_id: UUID,
        actor: Actor,
        group: Group,
        member_id: str,
        reason: Literal["left", "replaced", "added_in_error", "not_independent", "other"],
        *,
        texts: PendingTexts | None = None,
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: commands.remove_member(s, actor, group, member_id, reason),
            texts,
        )

    def share_findings(
        self,
        review_id: UUID,
        actor: Actor,
        findings: DocumentRef,
        shared_on: date,
        *,
        texts: PendingTexts | None = None,
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: commands.share_findings(s, actor, findings, shared_on),
            texts,
        )

    def record_case_group_response(
        self, review_id: UUID, actor: Actor, response: CaseGroupResponse, *, texts: PendingTexts | None = None
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: commands.record_case_group_response(s, actor, response),
            texts,
        )

    def submit_chronology_entry(
        self, review_id: UUID, actor: Actor, agency: Agency, entry: EntryInput, *, texts: PendingTexts | None = None
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: chronology.submit_entry(s, actor, agency, entry, self.today()),
            texts,
        )

    def correct_chronology_entry(
        self,
        review_id: UUID,
        actor: Actor,
        agency: Agency,
        entry_id: UUID,
        entry: EntryInput,
        reason: DocumentRef | None,
        *,
        texts: PendingTexts | None = None,
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: chronology.correct_entry(s, actor, agency, entry_id, entry, reason, self.today()),
            texts,
        )

    def link_parallel_process(
        self,
        review_id: UUID,
        actor: Actor,
        kind: ParallelProcessKind,
        reference_document_id: UUID | None,
        started_on: date | None,
        status: Literal["ongoing", "concluded"],
        *,
        texts: PendingTexts | None = None,
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: completion.link_parallel_process(s, actor, kind, reference_document_id, started_on, status),
            texts,
        )

    def update_parallel_process(
        self,
        review_id: UUID,
        actor: Actor,
        link_id: UUID,
        status: Literal["ongoing", "concluded"],
        on: date,
        *,
        texts: PendingTexts | None = None,
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: completion.update_parallel_process(s, actor, link_id, status, on),
            texts,
        )

    def set_publication_hold(
        self,
        review_id: UUID,
        actor: Actor,
        reason: Literal["criminal_trial", "inquest", "other"],
        linked_process: UUID | None,
        set_on: date,
        *,
        texts: PendingTexts | None = None,
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: completion.set_publication_hold(s, actor, reason, linked_process, set_on),
            texts,
        )

    def lift_publication_hold(
        self, review_id: UUID, actor: Actor, hold_id: UUID, lifted_on: date, *, texts: PendingTexts | None = None
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: completion.lift_publication_hold(s, actor, hold_id, lifted_on),
            texts,
        )

    def record_final_report(
        self,
        review_id: UUID,
        actor: Actor,
        report: DocumentRef,
        received_on: date,
        *,
        texts: PendingTexts | None = None,
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: completion.record_final_report(s, actor, report, received_on),
            texts,
        )

    def record_learning_summary(
        self, review_id: UUID, actor: Actor, facts: LearningSummaryFacts, *, texts: PendingTexts | None = None
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: completion.record_learning_summary(s, actor, facts),
            texts,
        )

    def publish(
        self, review_id: UUID, actor: Actor, published_on: date, *, texts: PendingTexts | None = None
    ) -> EventEnvelope:
        return self._command(
            review_id,
            lambda s: completion.publish(s, actor, published_on),
            texts,
        )

    def close_review(
        self, review_id: UUID, actor: Actor, closed_on: date, *, texts: PendingTexts | None = None
    ) -> EventEnvelope:
        """Close the review (named so, because `Application.close()` closes the event store)."""
        return self._command(
            review_id,
            lambda s: completion.close(s, actor, closed_on),
            texts,
        )

    # --- internals ------------------------------------------------------------------------------------------------

    @contextmanager
    def recording_as(self, event_id: UUID | None, request_hash: str | None) -> Iterator[None]:
        """Commands run inside record their event under `event_id` (None: a new id) and note `request_hash`
        with it, so the key given again finds the event in `ReviewState.keyed` and its request's hash."""
        token = _EVENT_ID.set(None if event_id is None or request_hash is None else (event_id, request_hash))
        try:
            yield
        finally:
            _EVENT_ID.reset(token)

    def _command(
        self, review_id: UUID, build: Callable[[ReviewState], EventEnvelope], texts: PendingTexts | None
    ) -> EventEnvelope:
        """Build the event from the current state (refusals raise), keep its texts, then save it."""
        process = self._process(review_id)
        if process is None:
            raise NotFound(f"no review {review_id}")
        event = build(process.state)
        if (keyed := _EVENT_ID.get()) is not None:
            event = event.model_copy(update={"event_id": keyed[0]})
            process.note_request(str(keyed[0]), keyed[1])
        if texts is not None:
            texts.flush()
        process.record(wire(event))
        try:
            self.save(process)
        except IntegrityError:
            if texts is not None:
                texts.discard()
            raise ConcurrentChange("the review changed at the same moment: read it again and retry") from None
        self.notify_saved()
        return event

    def _process(self, review_id: UUID) -> ReviewProcess | None:
        try:
            return self.repository.get(review_id)  # type: ignore[return-value]
        except AggregateNotFoundError:
            return None

    def _watch(self, case_id: UUID) -> CaseWatch | None:
        try:
            return self.repository.get(CaseWatch.id_for(case_id))  # type: ignore[return-value]
        except AggregateNotFoundError:
            return None


def _record_all(process: ReviewProcess | None, reactions: list[EventEnvelope]) -> ReviewProcess | None:
    for event in reactions:
        if process is None:
            process = ReviewProcess(envelope=wire(event))
        else:
            process.record(wire(event))
    return process
