"""Decisioning events as orchestration receives them, and whole reviews driven through the application.

Used by the orchestration unit and integration tests and by the contract examples (which take the events a
real run records, so the examples are built the way the service builds them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from events.decisioning import (
    ChairDecisionPayload,
    ChairDecisionRecorded,
    DecisionKind,
    LeadReviewerAppointed,
    LeadReviewerAppointedPayload,
    MethodologyChoice,
    Recommendation,
    RecommendationRecorded,
    RecommendationRecordedPayload,
    ScrPanelReferralPayload,
    ScrPanelReferralRecorded,
)
from events.envelope import Actor, EventEnvelope
from events.incidents import IncidentFacts
from events.orchestration import Duration, LearningFlags, Principles, Significance
from events.registry import parse_event
from lif.delivery.delivered import Delivered
from lif.delivery.log import read_log
from services.orchestration.application import OrchestrationApplication
from services.orchestration.chronology import EntryInput
from services.orchestration.commands import CaseGroupResponse, StageOutcome
from services.orchestration.domain import review_id_for
from services.orchestration.learning import LearningAboutTheCase, LearningSummaryDocument, TypeOfReview, summary_facts
from services.orchestration.texts import MemoryTextStore, PendingTexts, Texts, TextStore

DECISIONING = Actor(kind="service", id="decisioning")
BM = Actor(kind="person", id="bol-business-manager", role="business_manager")
CHAIR = Actor(kind="person", id="bol-chair", role="chair")
LEAD_ID = "reviewer-0042"
LEAD = Actor(kind="person", id=LEAD_ID, role="reviewer")
POLICE_AUTHOR = Actor(kind="person", id="police-author", role="reviewer")
TODAY = date(2016, 6, 30)
FACTS = IncidentFacts(
    abuse_or_neglect="suspected",
    outcome="seriously_harmed",
    working_together_concern="unclear",
    place_of_death=None,
    practice_concern_single_agency=False,
    good_practice=False,
    historical=False,
)


def _moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)


@dataclass
class Case:
    """One case as decisioning tells orchestration about it."""

    lscb: str = "BOL"
    case_id: UUID = field(default_factory=uuid4)
    correlation_id: UUID = field(default_factory=uuid4)

    @property
    def review_id(self) -> UUID:
        return review_id_for(self.case_id)

    def _envelope(self, on: date, causation: UUID | None = None) -> dict[str, Any]:
        return {
            "event_id": uuid4(),
            "lscb": self.lscb,
            "case_id": self.case_id,
            "occurred_at": _moment(on),
            "recorded_at": _moment(on),
            "correlation_id": self.correlation_id,
            "causation_id": causation,
            "actor": DECISIONING,
        }

    def recommendation(
        self,
        *,
        statutory: bool = True,
        review_type: Any = "serious_case_review",
        hint: Any = "intensive",
        rule_pack: str = "nwlif-2015",
        deadlines: dict[str, date] | None = None,
        on: date = date(2015, 3, 10),
    ) -> RecommendationRecorded:
        return RecommendationRecorded(
            **self._envelope(on),
            payload=RecommendationRecordedPayload(
                incident_event_id=uuid4(),
                facts=FACTS,
                recommendation=self.advice(statutory, review_type, hint, rule_pack, deadlines),
            ),
        )

    @staticmethod
    def advice(
        statutory: bool, review_type: Any, hint: Any, rule_pack: str, deadlines: dict[str, date] | None
    ) -> Recommendation:
        return Recommendation(
            review_type=review_type,
            statutory_scr=statutory,
            methodology_hint=hint if statutory else None,
            rules_fired=["A1", "A3", "A4"] if statutory else ["E1"],
            rule_pack=rule_pack,
            rule_pack_version="1.1.0",
            reasons=["A sample reason."],
            deadlines={"chair_decision_due": date(2015, 4, 10)} if deadlines is None else deadlines,
        )

    def referral(self, on: date = date(2015, 3, 20)) -> ScrPanelReferralRecorded:
        return ScrPanelReferralRecorded(
            **self._envelope(on), payload=ScrPanelReferralPayload(referred_on=on, reason=None)
        )

    def decision(
        self,
        decision: DecisionKind,
        *,
        methodology: Any = None,
        on: date = date(2015, 4, 8),
        supersedes: UUID | None = None,
        rule_pack: str = "nwlif-2015",
        considered: bool = True,
    ) -> ChairDecisionRecorded:
        choice = None
        if decision == "initiate_scr":
            choice = MethodologyChoice(
                methodology=methodology or "intensive", criteria_held=[], rules_fired=[], reasons=["Advised."]
            )
        return ChairDecisionRecorded(
            **{**self._envelope(on), "actor": CHAIR},
            payload=ChairDecisionPayload(
                decision=decision,
                decided_on=on,
                recommendation_event_id=uuid4(),
                recommendation=self.advice(True, "serious_case_review", "intensive", rule_pack, None),
                departs_from_recommendation=decision != "initiate_scr",
                rationale=None,
                supersedes=supersedes,
                considered_for_scr=considered,
                scr_route="statutory" if decision == "initiate_scr" else None,
                methodology=choice,
                forum_theme=None,
                rule_pack=rule_pack,
                rule_pack_version="1.1.0",
                deadlines={"panel_notice_due": date(2015, 4, 22)},
            ),
        )

    def appointment(
        self, decision: ChairDecisionRecorded, reviewer_id: str = LEAD_ID, on: date = date(2015, 4, 9)
    ) -> LeadReviewerAppointed:
        return LeadReviewerAppointed(
            **{**self._envelope(on), "actor": CHAIR},
            payload=LeadReviewerAppointedPayload(
                reviewer_id=reviewer_id,
                decision_event_id=decision.event_id,
                review=decision.payload.decision,
                appointed_on=on,
                independence="independent_of_board",
            ),
        )


class Feed:
    """Delivers events at increasing positions of one stream (its own, unless named), as a log follower does."""

    def __init__(self, app: OrchestrationApplication, key: str | None = None) -> None:
        self.app, self.key, self.position = app, key or f"log:decisioning-{uuid4().hex[:8]}", 0

    def __call__(self, event: EventEnvelope) -> bool:
        self.position += 1
        return self.app.handle(Delivered(self.key, self.position, event))


def popo_app(today: date = TODAY) -> OrchestrationApplication:
    """The application on eventsourcing's in-memory store (fast unit tests)."""
    return OrchestrationApplication(env={}, today=lambda: today)


def no_significance(**yes: bool) -> Significance:
    values = dict.fromkeys(Significance.model_fields, False)
    return Significance(**{**values, **yes})


def entry(t: PendingTexts, on: date, text: str, **yes: bool) -> EntryInput:
    return EntryInput(
        event_date=on,
        description=t.ref("chronology_description", text),
        principles=Principles(
            risk=t.ref("chronology_risk", f"risk of {text}"), response=None, partnership=None, learning=None
        ),
        learning_flags=LearningFlags(significant=bool(yes), new=False),
        significance=no_significance(**yes),
    )


def learning_document(reference_code: str = "BOL-SCR-2015-01") -> LearningSummaryDocument:
    return LearningSummaryDocument(
        lscb_area="Bolton",
        date_completed=date(2015, 10, 20),
        type_of_review=TypeOfReview(
            methodology="SCR, systems methodology",
            chairing_and_authoring="Independent chair and independent lead reviewer",
            how_selected="Statutory criteria met; methodology advised at the planning meeting",
        ),
        incident_month="2015-03",
        review_reference_code=reference_code,
        learning_about_the_case=LearningAboutTheCase(
            themes=["multi_agency_incidents_and_crises", "human_judgement"],
            concerns="Information was not shared at the strategy discussion.",
            good_practice="The school nurse escalated promptly.",
        ),
        learning_about_the_review_method="Practitioners valued the SPE forum.",
        key_single_agency_recommendations=["Police to review referral triage."],
        key_multi_agency_recommendations=["Joint strategy discussions within 24 hours."],
        how_changes_will_be_made="The LSCB's learning subgroup owns the action plan.",
        how_impact_will_be_audited="A multi-agency audit in twelve months.",
        other_comments="",
    )


SCR_STAGES = [
    "national_panel_engagement",
    "spe_forum",
    "information_audit",
    "spe_analysis",
]
LATE_STAGES = ["progress_report", "learning_workshop", "initial_report", "programmes_of_action"]


@dataclass
class Run:
    """A review driven to its end; `texts` is its erasable store."""

    app: OrchestrationApplication
    case: Case
    store: Any  # a MemoryTextStore in unit tests, the ErasableStore in integration tests

    @property
    def review_id(self) -> UUID:
        return self.case.review_id

    def pending(self) -> PendingTexts:
        return Texts(self.store).pending(self.case.lscb, self.case.case_id)


def run_scr(app: OrchestrationApplication, methodology: str = "intensive", *, store: TextStore | None = None) -> Run:
    """A full SCR: considered, stages 1-3, initiated, stages 4-12 with family involvement moved while a
    criminal trial runs (publication held), consultation, report, learning summary, publication, closure."""
    run = Run(app, Case(), store or MemoryTextStore())
    feed, rid, case = Feed(app), run.review_id, run.case
    half = Duration(amount=1, unit="half_days")
    feed(case.recommendation(hint=methodology))
    for stage, day in (
        ("initial_meeting", date(2015, 3, 16)),
        ("spe_chronologies", date(2015, 3, 27)),
        ("planning_meeting", date(2015, 4, 2)),
    ):
        app.schedule_stage(rid, BM, stage, day, half)
        app.record_stage_held(rid, BM, stage, day)
    t = run.pending()
    app.submit_chronology_entry(rid, BM, "police", entry(t, date(2014, 11, 3), "Call to the home"), texts=t)
    decision = case.decision("initiate_scr", methodology=methodology)
    feed(decision)
    feed(case.appointment(decision))
    app.add_member(rid, BM, "review_group", POLICE_AUTHOR.id, "agency_author", "police")
    app.add_member(rid, BM, "case_group", "health-visitor-7", "practitioner", "health")
    app.add_member(rid, BM, "case_group", "social-worker-3", "practitioner", "local_authority")
    app.remove_member(rid, BM, "case_group", "social-worker-3", "replaced")
    t = run.pending()
    app.submit_chronology_entry(
        rid, POLICE_AUTHOR, "police", entry(t, date(2015, 1, 5), "Strategy meeting", statutory_event=True), texts=t
    )
    t = run.pending()
    app.submit_chronology_entry(
        rid, LEAD, "health", entry(t, date(2015, 1, 5), "Health visit", significant_to_child=True), texts=t
    )
    first = next(iter(app.require(rid).chronology))
    t = run.pending()
    app.correct_chronology_entry(
        rid,
        BM,
        "police",
        first,
        entry(t, date(2014, 11, 4), "Call to the home (date corrected)"),
        t.ref("reason", "Date"),
        texts=t,
    )
    t = run.pending()
    linked = app.link_parallel_process(
        rid, BM, "criminal_investigation", t.id_only("ref", "OP-ASH-17"), date(2015, 3, 3), "ongoing", texts=t
    )
    hold = app.set_publication_hold(rid, BM, "criminal_trial", linked.payload.link_id, date(2015, 4, 20))  # type: ignore[attr-defined]
    forum = Duration(amount=1, unit="days") if methodology == "intensive" else half
    analysis = (
        Duration(amount=3, unit="half_days") if methodology == "intensive" else Duration(amount=2, unit="half_days")
    )
    days = iter(date(2015, m, d) for m, d in ((4, 20), (5, 12), (5, 20), (6, 16)))
    for stage in SCR_STAGES:
        day = next(days)
        duration = {"spe_forum": forum, "spe_analysis": analysis}.get(stage, half)
        app.schedule_stage(rid, BM, stage, day, duration)
        app.record_stage_held(rid, LEAD, stage, day)
        t = run.pending()
        app.record_stage_outcome(
            rid, LEAD, stage, StageOutcome("completed", ["police", "health"], 2, t.ref("note", "Agreed.")), texts=t
        )
    t = run.pending()
    app.move_stage(rid, BM, "family_involvement", "criminal_proceedings", None, t.ref("note", "Trial listed"), texts=t)
    for stage, day in zip(
        LATE_STAGES, (date(2015, 7, 1), date(2015, 7, 22), date(2015, 8, 19), date(2015, 9, 16)), strict=True
    ):
        app.schedule_stage(
            rid, BM, stage, day, Duration(amount=2, unit="half_days") if stage == "learning_workshop" else half
        )
        app.record_stage_held(rid, LEAD, stage, day)
    t = run.pending()
    app.share_findings(rid, LEAD, t.ref("findings", "Draft findings v1"), date(2015, 8, 1), texts=t)
    t = run.pending()
    response = CaseGroupResponse(
        "health-visitor-7", 1, "agrees_with_corrections", date(2015, 8, 10), None, [t.ref("c", "Visit was on the 6th")]
    )
    app.record_case_group_response(rid, BM, response, texts=t)
    t = run.pending()
    app.record_final_report(rid, LEAD, t.ref("final_report", "The final report."), date(2015, 9, 20), texts=t)
    t = run.pending()
    app.record_learning_summary(rid, LEAD, summary_facts(t, learning_document()), texts=t)
    app.update_parallel_process(rid, BM, linked.payload.link_id, "concluded", date(2016, 1, 15))  # type: ignore[attr-defined]
    app.lift_publication_hold(rid, CHAIR, hold.payload.hold_id, date(2016, 1, 20))  # type: ignore[attr-defined]
    app.schedule_stage(rid, BM, "family_involvement", date(2016, 1, 25), half)
    app.record_stage_held(rid, LEAD, "family_involvement", date(2016, 1, 25))
    app.publish(rid, CHAIR, date(2016, 2, 1))
    app.close_review(rid, BM, date(2016, 2, 10))
    return run


def run_macr(app: OrchestrationApplication, *, store: TextStore | None = None) -> Run:
    """A MACR by the board's method (SILP by default), from the Chair's decision to closure without publication."""
    run = Run(app, Case(), store or MemoryTextStore())
    feed, rid = Feed(app), run.review_id
    feed(run.case.recommendation(statutory=False, review_type="multi_agency_concise_review"))
    feed(run.case.decision("commission_macr", considered=False))
    app.add_member(rid, BM, "review_group", "internal-reviewer", "lead_reviewer", "local_authority")
    half = Duration(amount=1, unit="half_days")
    plan = {
        "scoping_meeting": (date(2015, 4, 20), half),
        "agency_reports": (date(2015, 5, 18), half),
        "learning_event": (date(2015, 6, 15), Duration(amount=1, unit="days")),
        "family_involvement": (date(2015, 6, 22), half),
        "recall_event": (date(2015, 7, 13), half),
        "overview_report": (date(2015, 7, 27), half),
        "report_to_lscb": (date(2015, 8, 10), half),
    }
    for stage, (day, duration) in plan.items():
        app.schedule_stage(rid, BM, stage, day, duration)
        app.record_stage_held(rid, BM, stage, day)
    t = run.pending()
    app.record_final_report(rid, BM, t.ref("final_report", "MACR overview report."), date(2015, 8, 1), texts=t)
    t = run.pending()
    app.record_learning_summary(rid, BM, summary_facts(t, learning_document("BOL-MACR-2015-02")), texts=t)
    app.close_review(rid, BM, date(2015, 8, 20))
    return run


def not_initiated(app: OrchestrationApplication) -> Run:
    """Considered for an SCR, then the Chair decided no review."""
    run = Run(app, Case(), MemoryTextStore())
    feed = Feed(app)
    feed(run.case.recommendation())
    feed(run.case.decision("no_review"))
    return run


def recorded_events(app: OrchestrationApplication) -> list[EventEnvelope]:
    """Every contract event in the application's log, as the relay would publish them."""
    return [parse_event(item.envelope) for item in read_log(app, 0, 100_000)]
