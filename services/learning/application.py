"""Learning collation: record every source of learning once and track its recommendations to impact.

Upstream events (orchestration's and decisioning's logs or topics) are handled with eventsourcing tracking
records written in the same transaction as the events they cause; a closed review's source has an id
derived from its case, so a redelivered or republished closure finds it recorded and changes nothing.
The texts (a review's Learning Summary, asked of orchestration, which logs the read; a forum's or audit's
learning) are kept in this service's erasable store under ids derived from the source, so a retry writes
the same row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from uuid import UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.persistence import IntegrityError

from events.decisioning import DocumentRef, LearningThemesTagged
from events.envelope import Actor, EventEnvelope
from events.incidents import NotifyingAgency
from events.learning import (
    ActionDueSet,
    ActionDueSetPayload,
    ActionStatus,
    ActionStatusChanged,
    ActionStatusChangedPayload,
    ImpactEvidenced,
    ImpactEvidencedPayload,
    ImpactResult,
    ReauditScheduled,
    ReauditScheduledPayload,
    RecommendationTracked,
    RecommendationTrackedPayload,
    ReviewType,
    SourceKind,
    SourceRecorded,
    SourceRecordedPayload,
    ThemeTag,
)
from events.orchestration import ReviewClosed
from lif.delivery.delivered import Delivered
from lif.delivery.tracking import TrackingApplication
from lif.idempotency import Idempotency, KeyReused, repeat_of, request_hash
from services.learning.documents import agency_of, review_findings
from services.learning.domain import (
    CaseThemes,
    LearningSource,
    TrackedRecommendation,
    board_source_id,
    recommendation_id_for,
    review_source_id,
)
from services.learning.envelopes import SERVICE_ACTOR, new_event, wire
from services.learning.errors import Conflict, InvalidInput, NotFound
from services.learning.themes import board_tags, checked_tags, crosswalked

REVIEW_TYPES: dict[str, ReviewType] = {"scr": "scr", "macr": "macr", "iar": "iar"}


class ReviewSummaries(Protocol):
    """A closed review's Learning Summary as orchestration serves it (its internal route, or in-process):
    a JSON object with `review_id`, `reference_code`, `themes`, `typology`, `typology_version`,
    `completed_on`, `incident_month`, `review_kind`, `method` and `summary` (None once erased); None when
    orchestration has no summary for the case."""

    def __call__(self, lscb: str, case_id: UUID) -> dict[str, Any] | None: ...


class TextStore(Protocol):
    def put_document(self, document_id: UUID, lscb: str, case_id: UUID, kind: str, body: str) -> str: ...

    def get(self, detail_id: UUID, lscb: str) -> str | None: ...


@dataclass(frozen=True)
class SourceInput:
    """A source recorded by a business manager's command (a forum, an audit, a legacy review)."""

    kind: SourceKind
    lscb: str
    reference: str
    on: date
    themes: list[ThemeTag]
    document: dict[str, Any]
    single_agency: list[str]
    multi_agency: list[str]
    review_type: ReviewType | None = None
    incident_month: str | None = None


@dataclass(frozen=True)
class Recorded:
    event: dict[str, Any]
    created: bool


class LearningApplication(TrackingApplication):
    name = "learning"

    def __init__(
        self, env: Mapping[str, str] | None = None, *, texts: TextStore, summaries: ReviewSummaries | None = None
    ) -> None:
        super().__init__(env=env)
        self.texts = texts
        self.summaries = summaries

    # --- upstream events --------------------------------------------------------------------------------------

    def collect(self, delivered: Delivered, processing: ProcessingEvent[UUID], seen: dict[UUID, Any]) -> bool:
        """A review's closure records its learning as a source, with its key recommendations tracked; the
        themes decisioning tagged the case with are noted for it (nothing is published for them)."""
        event = delivered.event
        if isinstance(event, LearningThemesTagged):
            return self._note_themes(event, processing, seen)
        if not isinstance(event, ReviewClosed):
            return False  # the rest of orchestration's and decisioning's events change no source
        source_id = review_source_id(event.case_id)
        if source_id in seen or self._source(source_id) is not None:
            return False
        if self.summaries is None:
            raise RuntimeError("learning collation has no way to ask orchestration for learning summaries")
        view = self.summaries(event.lscb, event.case_id)
        if view is None:
            raise NotFound(f"orchestration has no learning summary for case {event.case_id}")
        summary = view.get("summary")
        themes = board_tags(event.lscb, view["themes"], view.get("typology"), view.get("typology_version"))
        document: dict[str, Any] | None = None
        if summary is not None:
            document = {
                "title": summary["type_of_review"]["methodology"],
                "findings": review_findings(summary),
                "themes": [t.model_dump() for t in themes],
                "key_single_agency_recommendations": summary["key_single_agency_recommendations"],
                "key_multi_agency_recommendations": summary["key_multi_agency_recommendations"],
                "summary": summary,
                "themes_tagged_when_decided": self._tagged(event.case_id, seen),
            }
        payload = SourceRecordedPayload(
            source_id=source_id,
            source_kind="review",
            reference=view["reference_code"],
            review_type=REVIEW_TYPES.get(view.get("review_kind") or ""),
            on=event.payload.closed_on,
            incident_month=view.get("incident_month"),
            themes=themes,
            mapped_themes=crosswalked(themes),
            learning=self._keep(source_id, event.lscb, event.case_id, "learning", document),
            review_id=UUID(view["review_id"]),
        )
        recorded = new_event(
            SourceRecorded,
            lscb=event.lscb,
            case_id=event.case_id,
            correlation_id=event.correlation_id,
            payload=payload,
            on=event.payload.closed_on,
            causation_id=event.event_id,
            event_id=uuid5(source_id, "recorded"),
        )
        source = LearningSource(wire(recorded), None)
        recommendations = self._recommendations(recorded, document)
        processing.collect_events(source, *recommendations)
        seen[source_id] = source
        return True

    def _note_themes(
        self, event: LearningThemesTagged, processing: ProcessingEvent[UUID], seen: dict[UUID, Any]
    ) -> bool:
        note_id = CaseThemes.id_for(event.case_id)
        note = seen.get(note_id) or self._case_themes(event.case_id) or CaseThemes(event.case_id)
        if str(event.event_id) in note.seen:
            return False
        p = event.payload
        tags = [{"typology": p.typology, "version": p.typology_version, "code": code} for code in p.themes]
        note.tag(str(event.event_id), tags)
        processing.collect_events(note)
        seen[note_id] = note
        return False  # nothing published: the next follower has nothing new to read

    def _tagged(self, case_id: UUID, seen: dict[UUID, Any]) -> list[dict[str, str]]:
        note = seen.get(CaseThemes.id_for(case_id)) or self._case_themes(case_id)
        return [] if note is None else list(note.themes)

    def _case_themes(self, case_id: UUID) -> CaseThemes | None:
        try:
            found: object = self.repository.get(CaseThemes.id_for(case_id))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, CaseThemes) else None

    # --- commands (blocking) -----------------------------------------------------------------------------------

    def record_source(self, actor: Actor, source: SourceInput, hashed: str) -> Recorded:
        """Record a forum, audit or legacy review once: the same request again answers the first event, a
        different one under the same reference is refused (409)."""
        source_id = board_source_id(source.lscb, source.kind, source.reference)
        existing = self._source(source_id)
        if existing is not None:
            if existing.request_hash != hashed:
                raise Conflict(f"{source.lscb} already recorded a {source.kind} with reference {source.reference!r}")
            return Recorded(existing.envelope, created=False)
        themes = checked_tags(source.themes)
        document = dict(source.document) | {
            "themes": [t.model_dump() for t in themes],
            "key_single_agency_recommendations": source.single_agency,
            "key_multi_agency_recommendations": source.multi_agency,
        }
        payload = SourceRecordedPayload(
            source_id=source_id,
            source_kind=source.kind,
            reference=source.reference,
            review_type=source.review_type,
            on=source.on,
            incident_month=source.incident_month,
            themes=themes,
            mapped_themes=crosswalked(themes),
            learning=self._keep(source_id, source.lscb, source_id, "learning", document),
            review_id=None,
        )
        recorded = new_event(
            SourceRecorded,
            lscb=source.lscb,
            case_id=source_id,
            correlation_id=source_id,
            payload=payload,
            on=source.on,
            actor=actor,
            event_id=uuid5(source_id, "recorded"),
        )
        aggregate = LearningSource(wire(recorded), hashed)
        try:
            self.save(aggregate, *self._recommendations(recorded, document))
        except IntegrityError:
            return self.record_source(actor, source, hashed)  # recorded at the same moment: answer as a repeat
        self.notify_saved()
        return Recorded(aggregate.envelope, created=True)

    def add_action(
        self,
        recommendation_id: UUID,
        actor: Actor,
        owning_agency: NotifyingAgency,
        due: date,
        description: str,
        key: str | None,
        hashed: str,
    ) -> Recorded:
        def build(rec: TrackedRecommendation) -> EventEnvelope:
            action_id = uuid5(recommendation_id, f"action:{key}") if key else uuid4()
            payload = ActionDueSetPayload(
                recommendation_id=recommendation_id,
                action_id=action_id,
                owning_agency=owning_agency,
                due=due,
                previous_due=None,
                description=self._text(action_id, rec, "action", description),
            )
            return self._event(ActionDueSet, rec, payload, actor, due)

        return self._command(recommendation_id, build, key, hashed)

    def update_action(
        self,
        recommendation_id: UUID,
        action_id: UUID,
        actor: Actor,
        *,
        status: ActionStatus | None,
        due: date | None,
        on: date,
        key: str | None,
        hashed: str,
    ) -> list[Recorded]:
        """A new due date (`action_due_set` with the previous one) and/or a new status."""
        results: list[Recorded] = []
        rec = self._recommendation(recommendation_id)
        action = rec.state.actions.get(action_id)
        if action is None:
            raise NotFound(f"no action {action_id} on recommendation {recommendation_id}")
        if key is not None:  # a repeat answers the events the first call recorded, whatever changed since
            repeats = [self._repeat(rec, f"{key}:{part}", hashed) for part in ("due", "status")]
            if found := [r for r in repeats if r is not None]:
                return found
        if status is None and due is None:
            raise InvalidInput("give a new status or a new due date", "status")
        if due is not None and due != action.due:

            def moved(r: TrackedRecommendation) -> EventEnvelope:
                current = r.state.actions[action_id]
                payload = ActionDueSetPayload(
                    recommendation_id=recommendation_id,
                    action_id=action_id,
                    owning_agency=current.owning_agency,  # type: ignore[arg-type]
                    due=due,
                    previous_due=current.due,
                    description=current.description,
                )
                return self._event(ActionDueSet, r, payload, actor, on)

            results.append(self._command(recommendation_id, moved, f"{key}:due" if key else None, hashed))
        if status is not None and status != action.status:

            def changed(r: TrackedRecommendation) -> EventEnvelope:
                if r.state.actions[action_id].status in ("done", "cancelled"):
                    raise Conflict(f"the action is {r.state.actions[action_id].status} already")
                payload = ActionStatusChangedPayload(
                    recommendation_id=recommendation_id, action_id=action_id, status=status, on=on
                )
                return self._event(ActionStatusChanged, r, payload, actor, on)

            results.append(self._command(recommendation_id, changed, f"{key}:status" if key else None, hashed))
        return results

    def record_impact(
        self,
        recommendation_id: UUID,
        actor: Actor,
        audited_on: date,
        result: ImpactResult,
        finding: str,
        reaudit_id: UUID | None,
        key: str | None,
        hashed: str,
    ) -> Recorded:
        def build(rec: TrackedRecommendation) -> EventEnvelope:
            if reaudit_id is not None and reaudit_id not in rec.state.reaudits:
                raise InvalidInput(f"no open re-audit {reaudit_id} on this recommendation", "reaudit_id")
            evidence_id = uuid5(recommendation_id, f"evidence:{key}") if key else uuid4()
            payload = ImpactEvidencedPayload(
                recommendation_id=recommendation_id,
                evidence_id=evidence_id,
                audited_on=audited_on,
                result=result,
                finding=self._text(evidence_id, rec, "finding", finding),
                reaudit_id=reaudit_id,
            )
            return self._event(ImpactEvidenced, rec, payload, actor, audited_on)

        return self._command(recommendation_id, build, key, hashed)

    def schedule_reaudit(
        self, recommendation_id: UUID, actor: Actor, due: date, key: str | None, hashed: str
    ) -> Recorded:
        def build(rec: TrackedRecommendation) -> EventEnvelope:
            reaudit_id = uuid5(recommendation_id, f"reaudit:{key}") if key else uuid4()
            payload = ReauditScheduledPayload(recommendation_id=recommendation_id, reaudit_id=reaudit_id, due=due)
            return self._event(ReauditScheduled, rec, payload, actor, due)

        return self._command(recommendation_id, build, key, hashed)

    # --- reads ---------------------------------------------------------------------------------------------------

    def source(self, source_id: UUID) -> SourceRecorded | None:
        found = self._source(source_id)
        return None if found is None else found.recorded

    def recommendation(self, recommendation_id: UUID) -> TrackedRecommendation:
        return self._recommendation(recommendation_id)

    # --- internals ------------------------------------------------------------------------------------------------

    def _keep(
        self, source_id: UUID, lscb: str, case_id: UUID, kind: str, document: dict[str, Any] | None
    ) -> DocumentRef | None:
        if document is None:
            return None
        document_id = uuid5(source_id, kind)
        sha = self.texts.put_document(document_id, lscb, case_id, kind, json.dumps(document, sort_keys=True))
        return DocumentRef(document_id=document_id, sha256=sha)

    def _text(self, document_id: UUID, rec: TrackedRecommendation, kind: str, text: str) -> DocumentRef:
        tracked = rec.state.tracked
        sha = self.texts.put_document(document_id, tracked.lscb, tracked.case_id, kind, text)
        return DocumentRef(document_id=document_id, sha256=sha)

    def _recommendations(self, source: SourceRecorded, document: dict[str, Any] | None) -> list[TrackedRecommendation]:
        if document is None:
            return []
        found: list[TrackedRecommendation] = []
        for scope, texts in (
            ("single_agency", document.get("key_single_agency_recommendations") or []),
            ("multi_agency", document.get("key_multi_agency_recommendations") or []),
        ):
            for index, text in enumerate(texts):
                recommendation_id = recommendation_id_for(source.payload.source_id, scope, index)
                sha = self.texts.put_document(recommendation_id, source.lscb, source.case_id, "recommendation", text)
                payload = RecommendationTrackedPayload(
                    recommendation_id=recommendation_id,
                    source_id=source.payload.source_id,
                    scope=scope,  # type: ignore[arg-type]
                    agency=agency_of(text) if scope == "single_agency" else None,
                    themes=list(source.payload.themes),
                    text=DocumentRef(document_id=recommendation_id, sha256=sha),
                )
                tracked = new_event(
                    RecommendationTracked,
                    lscb=source.lscb,
                    case_id=source.case_id,
                    correlation_id=source.correlation_id,
                    payload=payload,
                    on=source.payload.on,
                    causation_id=source.event_id,
                    event_id=uuid5(recommendation_id, "tracked"),
                )
                found.append(TrackedRecommendation(wire(tracked)))
        return found

    def _event(
        self, model: type[EventEnvelope], rec: TrackedRecommendation, payload: Any, actor: Actor, on: date
    ) -> EventEnvelope:
        tracked = rec.state.tracked
        return new_event(
            model,
            lscb=tracked.lscb,
            case_id=tracked.case_id,
            correlation_id=tracked.correlation_id,
            payload=payload,
            on=on,
            actor=actor,
            causation_id=tracked.event_id,
        )

    def _command(
        self,
        recommendation_id: UUID,
        build: Callable[[TrackedRecommendation], EventEnvelope],
        key: str | None,
        hashed: str,
    ) -> Recorded:
        rec = self._recommendation(recommendation_id)
        if (first := self._repeat(rec, key, hashed)) is not None:
            return first
        envelope = wire(build(rec))
        rec.record(envelope, key, hashed)
        try:
            self.save(rec)
        except IntegrityError:
            raise Conflict("the recommendation changed at the same moment: read it again and retry") from None
        self.notify_saved()
        return Recorded(envelope, created=True)

    @staticmethod
    def _repeat(rec: TrackedRecommendation, key: str | None, hashed: str) -> Recorded | None:
        """What the key recorded on the recommendation (None: a new command); refused for another request."""
        if key is None:
            return None
        try:
            first = repeat_of(rec.state.keys.get(key), Idempotency(key, hashed))
        except KeyReused as error:
            raise InvalidInput(error.message, error.field) from None
        return None if first is None else Recorded(first, created=False)

    def _source(self, source_id: UUID) -> LearningSource | None:
        try:
            return self.repository.get(source_id)  # type: ignore[return-value]
        except AggregateNotFoundError:
            return None

    def _recommendation(self, recommendation_id: UUID) -> TrackedRecommendation:
        try:
            found: object = self.repository.get(recommendation_id)
        except AggregateNotFoundError:
            raise NotFound(f"no recommendation {recommendation_id}") from None
        if not isinstance(found, TrackedRecommendation):
            raise NotFound(f"no recommendation {recommendation_id}")
        return found


__all__ = ["SERVICE_ACTOR", "LearningApplication", "Recorded", "SourceInput", "request_hash"]
