"""Build the events of one case's threshold decisioning story, the way intake and decisioning record them.

Each `CaseStory` is one case (its own case id). Every event it makes is recorded at least a minute after
the one before, and after it happened, so a list of a story's events is in recorded order, and tests can
shuffle it to test arrival order.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4, uuid5

from events.decisioning import (
    ChairDecisionPayload,
    ChairDecisionRecorded,
    DecisionKind,
    DiscretionaryInputPayload,
    DiscretionaryInputRecorded,
    DocumentRef,
    LeadReviewerAppointed,
    LeadReviewerAppointedPayload,
    LearningThemesTagged,
    LearningThemesTaggedPayload,
    MethodologyChoice,
    PanelNoticePrepared,
    PanelNoticePreparedPayload,
    PanelNoticeSent,
    PanelNoticeSentPayload,
    RecommendationRecorded,
    RecommendationRecordedPayload,
    ScrPanelReferralPayload,
    ScrPanelReferralRecorded,
)
from events.envelope import Actor, EventEnvelope
from events.incidents import IncidentNotification
from events.intake import ChildRef, IncidentReceived, IncidentReceivedPayload
from services.decisioning.rules import assess
from tests.samples import notification

CHAIR = Actor(kind="person", id="chair-token", role="chair")
BUSINESS_MANAGER = Actor(kind="person", id="bm-token", role="business_manager")
DECISIONING = Actor(kind="service", id="decisioning")

INTENSIVE = MethodologyChoice(
    methodology="intensive", criteria_held=["D1"], rules_fired=["D1"], reasons=["D1: very serious and complex."]
)
TARGETED = MethodologyChoice(
    methodology="targeted", criteria_held=["D7"], rules_fired=["D7"], reasons=["D7: discretionary route."]
)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class CaseStory:
    """The events of one case; `texts` holds the free text each DocumentRef points at (the erasable store)."""

    def __init__(self, lscb: str = "BOL", **changes: Any) -> None:
        self.notification = IncidentNotification.model_validate(notification(lscb=lscb, **changes))
        self.lscb = lscb
        self.case_id = uuid4()
        self.correlation_id = uuid4()
        self.clock = datetime(2015, 3, 10, 9, 0, tzinfo=UTC)
        self.texts: dict[UUID, str] = {}

    def _envelope(self, actor: Actor, caused_by: EventEnvelope | None, day: date | None = None) -> dict[str, Any]:
        occurred = None if day is None else datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)
        self.clock = max(self.clock, occurred or self.clock) + timedelta(minutes=1)  # recorded after it happened
        occurred = occurred or self.clock
        return {
            "event_id": uuid4(),
            "lscb": self.lscb,
            "case_id": self.case_id,
            "occurred_at": occurred,
            "recorded_at": self.clock,
            "correlation_id": self.correlation_id,
            "causation_id": None if caused_by is None else caused_by.event_id,
            "actor": actor,
        }

    def document(self, text: str) -> DocumentRef:
        ref = DocumentRef(document_id=uuid4(), sha256=sha256(text))
        self.texts[ref.document_id] = text
        return ref

    def incident(self) -> IncidentReceived:
        n = self.notification
        return IncidentReceived(
            **self._envelope(BUSINESS_MANAGER, None),
            payload=IncidentReceivedPayload(
                source_system=n.source.system,
                source_reference_hash=sha256(n.source.reference),
                notifying_agency=n.notifying_agency,
                child=ChildRef(**n.child.model_dump()),
                incident_date=n.incident_date,
                notified_date=n.notified_date,
                summary_ref=uuid4(),
                facts=n.facts,
                content_hash=sha256(n.model_dump_json()),
                channel="http",
            ),
        )

    def recommendation(self) -> RecommendationRecorded:
        return RecommendationRecorded(
            **self._envelope(DECISIONING, None),
            payload=RecommendationRecordedPayload(
                incident_event_id=uuid4(), facts=self.notification.facts, recommendation=assess(self.notification)
            ),
        )

    def decision(
        self,
        rec: RecommendationRecorded,
        decision: DecisionKind,
        decided_on: date,
        *,
        rationale: str | None = None,
        supersedes: ChairDecisionRecorded | None = None,
        considered_for_scr: bool | None = None,
        methodology: MethodologyChoice | None = None,
    ) -> ChairDecisionRecorded:
        seen = rec.payload.recommendation
        considered = seen.statutory_scr if considered_for_scr is None else considered_for_scr
        departs = not (
            (decision == "initiate_scr" and seen.review_type == "serious_case_review")
            or (decision == "commission_macr" and seen.review_type == "multi_agency_concise_review")
        )
        return ChairDecisionRecorded(
            **self._envelope(CHAIR, supersedes or rec, decided_on),
            payload=ChairDecisionPayload(
                decision=decision,
                decided_on=decided_on,
                recommendation_event_id=rec.event_id,
                recommendation=seen,
                departs_from_recommendation=departs,
                rationale=None if rationale is None else self.document(rationale),
                supersedes=None if supersedes is None else supersedes.event_id,
                considered_for_scr=considered,
                scr_route=(
                    ("statutory" if seen.statutory_scr else "discretionary") if decision == "initiate_scr" else None
                ),
                methodology=methodology if decision == "initiate_scr" else None,
                forum_theme=None,
                rule_pack=seen.rule_pack,
                rule_pack_version=seen.rule_pack_version,
                deadlines={"panel_notice_due": decided_on + timedelta(days=14)} if considered else {},
            ),
        )

    def referral(self, referred_on: date, reason: str | None = None) -> ScrPanelReferralRecorded:
        return ScrPanelReferralRecorded(
            **self._envelope(BUSINESS_MANAGER, None, referred_on),
            payload=ScrPanelReferralPayload(
                referred_on=referred_on, reason=None if reason is None else self.document(reason)
            ),
        )

    def discretionary(self, held_on: date, note: str | None = None) -> DiscretionaryInputRecorded:
        return DiscretionaryInputRecorded(
            **self._envelope(CHAIR, None, held_on),
            payload=DiscretionaryInputPayload(
                kind="peer_challenge",
                held_on=held_on,
                supports_scr=True,
                note=None if note is None else self.document(note),
            ),
        )

    def appoint(self, decision: ChairDecisionRecorded, reviewer_id: str, on: date) -> LeadReviewerAppointed:
        return LeadReviewerAppointed(
            **self._envelope(CHAIR, decision, on),
            payload=LeadReviewerAppointedPayload(
                reviewer_id=reviewer_id,
                decision_event_id=decision.event_id,
                review=decision.payload.decision,
                appointed_on=on,
                independence="independent_of_board",
            ),
        )

    def notice(
        self, decision: ChairDecisionRecorded, body: str = "<p>National Panel notice</p>"
    ) -> PanelNoticePrepared:
        initiating = decision.payload.decision == "initiate_scr"
        return PanelNoticePrepared(
            **self._envelope(CHAIR, decision, decision.payload.decided_on),
            payload=PanelNoticePreparedPayload(
                notice_id=uuid5(decision.event_id, "notice"),
                idempotency_key=str(decision.event_id),
                decision_event_id=decision.event_id,
                initiating=initiating,
                content_rule="T4" if initiating else "T3",
                due=decision.payload.deadlines["panel_notice_due"],
                document=self.document(body),
                formats=["html", "markdown"],
            ),
        )

    def sent(self, notice: PanelNoticePrepared, sent_on: date) -> PanelNoticeSent:
        return PanelNoticeSent(
            **self._envelope(BUSINESS_MANAGER, notice, sent_on),
            payload=PanelNoticeSentPayload(notice_id=notice.payload.notice_id, sent_on=sent_on, channel="manual"),
        )

    def themes(self, *themes: str) -> LearningThemesTagged:
        return LearningThemesTagged(
            **self._envelope(BUSINESS_MANAGER, None),
            payload=LearningThemesTaggedPayload(
                themes=list(themes), typology="learning-together", typology_version="1"
            ),
        )
