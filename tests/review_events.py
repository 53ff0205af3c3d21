"""Build the orchestration events of one case's review, the way the orchestration service records them.

A `ReviewStory` shares its `CaseStory`'s case id and clock, so intake, decisioning and orchestration events of
one case are recorded in one increasing order, and tests can interleave or shuffle them. The plans copy the
shape of the nwlif-2015 stage plans (ids, numbers, order, move reasons); their due dates come from `due_days`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4, uuid5

from events.decisioning import ChairDecisionRecorded, DocumentRef
from events.envelope import Actor, EventEnvelope
from events.orchestration import (
    ChronologyEntryCorrected,
    ChronologyEntryPayload,
    ChronologyEntrySubmitted,
    Duration,
    FinalReportRecorded,
    FinalReportRecordedPayload,
    LearningFlags,
    LearningSummaryRecorded,
    LearningSummaryRecordedPayload,
    MemberAdded,
    MemberAddedPayload,
    MemberRemoved,
    MemberRemovedPayload,
    ParallelProcessLinked,
    ParallelProcessLinkedPayload,
    ParallelProcessUpdated,
    ParallelProcessUpdatedPayload,
    PlannedStage,
    Principles,
    PublicationHoldLifted,
    PublicationHoldLiftedPayload,
    PublicationHoldSet,
    PublicationHoldSetPayload,
    ReviewClosed,
    ReviewClosedPayload,
    ReviewNotInitiated,
    ReviewNotInitiatedPayload,
    ReviewPlanStarted,
    ReviewPlanStartedPayload,
    ReviewProcessOpened,
    ReviewProcessOpenedPayload,
    ReviewPublished,
    ReviewPublishedPayload,
    Significance,
    StageHeld,
    StageHeldPayload,
    StageMoved,
    StageMovedPayload,
    StageOutcomeRecorded,
    StageOutcomeRecordedPayload,
    StageScheduled,
    StageScheduledPayload,
)
from tests.decision_events import BUSINESS_MANAGER, INTENSIVE, CaseStory

ORCHESTRATION = Actor(kind="service", id="orchestration")
REVIEW_NAMESPACE = UUID("6b1d3c5e-2f4a-4e8b-9c7d-0a1b2c3d4e5f")


@dataclass(frozen=True)
class StagePlan:
    """One stage of a plan template: id, number, step, days after the plan's start, and what it may move for."""

    stage_id: str
    number: int | None
    due_days: int | None
    step: Literal["stage", "publication", "closure"] = "stage"
    move_reasons: tuple[str, ...] = ()


PRE_DECISION = (
    StagePlan("initial_meeting", 1, 7),
    StagePlan("spe_chronologies", 2, 21),
    StagePlan("planning_meeting", 3, 28),
)
SCR = (
    StagePlan("national_panel_engagement", 4, 14),
    StagePlan("spe_forum", 5, 42),
    StagePlan("information_audit", 6, 56),
    StagePlan("spe_analysis", 7, 84),
    StagePlan("family_involvement", 8, 98, move_reasons=("criminal_proceedings",)),
    StagePlan("progress_report", 9, 112),
    StagePlan("learning_workshop", 10, 133),
    StagePlan("initial_report", 11, 154),
    StagePlan("programmes_of_action", 12, 175),
    StagePlan("publication", None, None, "publication"),
    StagePlan("closure", None, None, "closure"),
)
MACR_SILP = (
    StagePlan("scoping_meeting", None, 14),
    StagePlan("agency_reports", None, 42),
    StagePlan("learning_event", None, 70),
    StagePlan("family_involvement", None, 84, move_reasons=("criminal_proceedings",)),
    StagePlan("recall_event", None, 98),
    StagePlan("overview_report", None, 112),
    StagePlan("report_to_lscb", None, 126),
    StagePlan("publication", None, None, "publication"),
    StagePlan("closure", None, None, "closure"),
)


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's end (rules.md section 2)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def planned(template: tuple[StagePlan, ...], start: date, deadline: date | None) -> list[PlannedStage]:
    """The plan's stages with due dates from `start`, none later than the deadline (as the service plans)."""
    stages: list[PlannedStage] = []
    for index, stage in enumerate(template):
        due = None if stage.due_days is None else start + timedelta(days=stage.due_days)
        if due is not None and deadline is not None:
            due = min(due, deadline)
        before = [template[index - 1].stage_id] if index else []
        stages.append(
            PlannedStage(
                stage_id=stage.stage_id,
                number=stage.number,
                name=stage.stage_id.replace("_", " ").capitalize(),
                step=stage.step,
                due=due,
                duration=None,
                after=before,
                complete_before=["publication"] if stage.move_reasons else [],
                move_reasons=list(stage.move_reasons),
            )
        )
    return stages


class ReviewStory:
    """The orchestration events of one case (`case`), each recorded after the one before."""

    def __init__(self, case: CaseStory) -> None:
        self.case = case
        self.review_id = uuid5(REVIEW_NAMESPACE, str(case.case_id))
        self.plan_id: str | None = None

    def _envelope(self, on: date | None = None, actor: Actor = ORCHESTRATION) -> dict[str, Any]:
        return self.case._envelope(actor, None, on)

    def _ref(self, text: str) -> DocumentRef:
        return self.case.document(text)

    # --- the process and its plans ----------------------------------------------------------------------------

    def opened(self, on: date, trigger_event: EventEnvelope | None = None) -> ReviewProcessOpened:
        return ReviewProcessOpened(
            **self._envelope(on),
            payload=ReviewProcessOpenedPayload(
                review_id=self.review_id,
                trigger="statutory_recommendation",
                trigger_event_id=uuid4() if trigger_event is None else trigger_event.event_id,
                opened_on=on,
                considered_for_scr=True,
                regime="nwlif-2015",
            ),
        )

    def pre_decision(self, started_on: date, t1_due: date) -> ReviewPlanStarted:
        return self._plan(
            "pre_decision", "scr", "pre_decision", "pre_decision", started_on, PRE_DECISION, "pre_decision_due", t1_due
        )

    def scr(self, decision: ChairDecisionRecorded, method: str = "intensive") -> ReviewPlanStarted:
        started = decision.payload.decided_on
        return self._plan(
            "review",
            "scr",
            method,
            f"scr_{method}",
            started,
            SCR,
            "scr_completion_due",
            add_months(started, 6),
            decision,
        )

    def macr(self, decision: ChairDecisionRecorded) -> ReviewPlanStarted:
        started = decision.payload.decided_on
        return self._plan("review", "macr", "silp", "macr_silp", started, MACR_SILP, None, None, decision)

    def _plan(
        self,
        phase: Literal["pre_decision", "review"],
        kind: Literal["scr", "macr", "iar"],
        method: str,
        plan_id: str,
        started_on: date,
        template: tuple[StagePlan, ...],
        deadline_name: str | None,
        deadline: date | None,
        decision: ChairDecisionRecorded | None = None,
    ) -> ReviewPlanStarted:
        replaces, self.plan_id = self.plan_id, plan_id
        return ReviewPlanStarted(
            **self._envelope(started_on),
            payload=ReviewPlanStartedPayload(
                phase=phase,
                review_kind=kind,
                method=method,
                plan_id=plan_id,
                regime="nwlif-2015",
                plan_version="1.0.0",
                started_on=started_on,
                decision_event_id=None if decision is None else decision.event_id,
                stages=planned(template, started_on, deadline),
                deadlines={} if deadline_name is None or deadline is None else {deadline_name: deadline},
                replaces_plan=replaces,
                dropped_stages=[],
            ),
        )

    def not_initiated(self, decision: ChairDecisionRecorded, dropped: list[str]) -> ReviewNotInitiated:
        return ReviewNotInitiated(
            **self._envelope(decision.payload.decided_on),
            payload=ReviewNotInitiatedPayload(
                decision_event_id=decision.event_id,
                decision=decision.payload.decision,
                decided_on=decision.payload.decided_on,
                ended_plan=self.plan_id,
                dropped_stages=dropped,
            ),
        )

    # --- stages -----------------------------------------------------------------------------------------------

    def scheduled(self, stage_id: str, on: date) -> StageScheduled:
        return StageScheduled(
            **self._envelope(actor=BUSINESS_MANAGER),
            payload=StageScheduledPayload(
                stage_id=stage_id, scheduled_for=on, planned_duration=Duration(amount=1, unit="half_days")
            ),
        )

    def held(self, stage_id: str, on: date) -> StageHeld:
        return StageHeld(
            **self._envelope(on, BUSINESS_MANAGER), payload=StageHeldPayload(stage_id=stage_id, held_on=on)
        )

    def outcome(
        self, stage_id: str, result: Literal["completed", "completed_with_actions", "incomplete"]
    ) -> StageOutcomeRecorded:
        return StageOutcomeRecorded(
            **self._envelope(actor=BUSINESS_MANAGER),
            payload=StageOutcomeRecordedPayload(
                stage_id=stage_id,
                result=result,
                agencies_present=["police", "health"],
                actions_agreed=1,
                note=self._ref("Outcome note."),
            ),
        )

    def run(self, stage_id: str, on: date) -> list[EventEnvelope]:
        """Schedule, hold and record the outcome of a stage on one date."""
        return [self.scheduled(stage_id, on), self.held(stage_id, on), self.outcome(stage_id, "completed")]

    def moved(self, stage_id: str, previous_due: date | None, new_due: date | None) -> StageMoved:
        return StageMoved(
            **self._envelope(actor=BUSINESS_MANAGER),
            payload=StageMovedPayload(
                stage_id=stage_id,
                reason="criminal_proceedings",
                previous_due=previous_due,
                new_due=new_due,
                note=self._ref("Trial listed."),
            ),
        )

    # --- groups, chronologies, parallel processes ------------------------------------------------------------

    def member(
        self, member_id: str, group: Literal["review_group", "case_group"] = "review_group", role: Any = "adviser"
    ) -> MemberAdded:
        return MemberAdded(
            **self._envelope(actor=BUSINESS_MANAGER),
            payload=MemberAddedPayload(
                group=group,
                member_id=member_id,
                role=role,
                agency="police",
                source="command",
                appointment_event_id=None,
            ),
        )

    def removed(self, member_id: str, group: Literal["review_group", "case_group"] = "review_group") -> MemberRemoved:
        return MemberRemoved(
            **self._envelope(actor=BUSINESS_MANAGER),
            payload=MemberRemovedPayload(group=group, member_id=member_id, reason="left"),
        )

    def chronology(self, significant: bool) -> ChronologyEntrySubmitted:
        """A new SPE chronology entry; significant when one significance question is answered yes."""
        return ChronologyEntrySubmitted(
            **self._envelope(actor=BUSINESS_MANAGER), payload=self._entry(uuid4(), 1, significant, None)
        )

    def corrected(
        self, entry: ChronologyEntrySubmitted, significant: bool, version: int = 2
    ) -> ChronologyEntryCorrected:
        return ChronologyEntryCorrected(
            **self._envelope(actor=BUSINESS_MANAGER),
            payload=self._entry(entry.payload.entry_id, version, significant, self._ref("Date corrected.")),
        )

    def _entry(
        self, entry_id: UUID, version: int, significant: bool, reason: DocumentRef | None
    ) -> ChronologyEntryPayload:
        flags = dict.fromkeys(Significance.model_fields, False)
        return ChronologyEntryPayload(
            entry_id=entry_id,
            agency="police",
            version=version,
            event_date=date(2015, 1, 5),
            description=self._ref("A home visit."),
            principles=Principles(risk=None, response=None, partnership=None, learning=None),
            learning_flags=LearningFlags(significant=significant, new=False),
            significance=Significance(**{**flags, "pattern": significant}),
            significant=significant,
            correction_reason=reason,
        )

    def linked(self, kind: Any, on: date) -> ParallelProcessLinked:
        return ParallelProcessLinked(
            **self._envelope(on, BUSINESS_MANAGER),
            payload=ParallelProcessLinkedPayload(
                link_id=uuid4(), kind=kind, reference_document_id=uuid4(), started_on=on, status="ongoing"
            ),
        )

    def concluded(self, link: ParallelProcessLinked, on: date) -> ParallelProcessUpdated:
        return ParallelProcessUpdated(
            **self._envelope(on, BUSINESS_MANAGER),
            payload=ParallelProcessUpdatedPayload(link_id=link.payload.link_id, status="concluded", on=on),
        )

    def hold(self, link: ParallelProcessLinked | None, on: date) -> PublicationHoldSet:
        return PublicationHoldSet(
            **self._envelope(on, BUSINESS_MANAGER),
            payload=PublicationHoldSetPayload(
                hold_id=uuid4(),
                reason="criminal_trial",
                linked_process=None if link is None else link.payload.link_id,
                set_on=on,
            ),
        )

    def lifted(self, hold: PublicationHoldSet, on: date) -> PublicationHoldLifted:
        return PublicationHoldLifted(
            **self._envelope(on, BUSINESS_MANAGER),
            payload=PublicationHoldLiftedPayload(hold_id=hold.payload.hold_id, lifted_on=on),
        )

    # --- completion -------------------------------------------------------------------------------------------

    def final_report(self, on: date) -> FinalReportRecorded:
        return FinalReportRecorded(
            **self._envelope(on, BUSINESS_MANAGER),
            payload=FinalReportRecordedPayload(version=1, report=self._ref("The final report."), received_on=on),
        )

    def learning_summary(self, code: str, on: date) -> LearningSummaryRecorded:
        return LearningSummaryRecorded(
            **self._envelope(on, BUSINESS_MANAGER),
            payload=LearningSummaryRecordedPayload(
                summary=self._ref('{"review_reference_code": "' + code + '"}'),
                reference_code=code,
                themes=["human_judgement"],
                typology="scie-learning-together",
                typology_version="1",
                completed_on=on,
                incident_month="2015-03",
                review_kind="scr",
                method="intensive",
            ),
        )

    def published(self, on: date) -> ReviewPublished:
        return ReviewPublished(
            **self._envelope(on, BUSINESS_MANAGER),
            payload=ReviewPublishedPayload(published_on=on, available_until=add_months(on, 12), final_report_version=1),
        )

    def closed(self, on: date, code: str, *, published: bool = True) -> ReviewClosed:
        return ReviewClosed(
            **self._envelope(on, BUSINESS_MANAGER),
            payload=ReviewClosedPayload(
                closed_on=on,
                reference_code=code,
                themes=["human_judgement"],
                typology="scie-learning-together",
                typology_version="1",
                published=published,
            ),
        )


DECIDED_ON = date(2015, 4, 8)
T6_DUE = date(2015, 10, 8)  # six months from the decision to initiate
LEAD = "rev-lead"
REFERENCE_CODE = "BOL-SCR-2015-01"


@dataclass
class IntensiveScr:
    """One case's Intensive SCR from notification to closure; `phases` keeps its orchestration events in log
    order, by the point of the review they bring it to."""

    case: CaseStory
    review: ReviewStory
    upstream: list[EventEnvelope] = field(default_factory=list)
    phases: dict[str, list[EventEnvelope]] = field(default_factory=dict)

    @property
    def orchestration(self) -> list[EventEnvelope]:
        return [event for events in self.phases.values() for event in events]

    def until(self, phase: str) -> list[EventEnvelope]:
        """The orchestration events up to and including `phase`."""
        names = list(self.phases)
        return [event for name in names[: names.index(phase) + 1] for event in self.phases[name]]

    @property
    def events(self) -> list[EventEnvelope]:
        """Every event of the case in recorded order."""
        return sorted([*self.upstream, *self.orchestration], key=lambda e: e.recorded_at)


def intensive_scr(lscb: str = "BOL", lead: str = LEAD) -> IntensiveScr:
    """Stages 1-3 before the decision; initiated Intensive on 2015-04-08; stages 4-7; family involvement moved
    while a criminal trial runs (publication held); stages 9-12; report and learning summary; the trial ends,
    the hold is lifted, family involvement is held; published on 2016-02-01 and closed on 2016-02-10."""
    case = CaseStory(lscb=lscb)
    review = ReviewStory(case)
    scr = IntensiveScr(case, review)
    incident, rec = case.incident(), case.recommendation()
    scr.upstream += [incident, rec]
    opening = [
        review.opened(date(2015, 3, 10), rec),
        review.pre_decision(date(2015, 3, 10), date(2015, 4, 10)),
        *review.run("initial_meeting", date(2015, 3, 16)),
        review.member(lead, role="lead_reviewer"),
    ]
    entry = review.chronology(significant=False)  # built in log order: each event is recorded after the last
    scr.phases["pre_decision"] = [
        *opening,
        entry,
        review.chronology(significant=True),
        *review.run("spe_chronologies", date(2015, 3, 27)),
        *review.run("planning_meeting", date(2015, 4, 2)),
    ]
    decision = case.decision(rec, "initiate_scr", DECIDED_ON, methodology=INTENSIVE)
    scr.upstream.append(decision)
    scr.phases["initiated"] = [
        review.scr(decision),
        review.member("health-visitor-7", "case_group", "practitioner"),
        review.member("social-worker-3", "case_group", "practitioner"),
        review.removed("social-worker-3", "case_group"),
        review.corrected(entry, significant=True),
        investigation := review.linked("criminal_investigation", date(2015, 3, 3)),
        hold := review.hold(investigation, date(2015, 4, 20)),
    ]
    scr.upstream.append(case.appoint(decision, lead, date(2015, 4, 9)))
    scr.phases["stages"] = [
        *review.run("national_panel_engagement", date(2015, 4, 20)),
        *review.run("spe_forum", date(2015, 5, 12)),
        *review.run("information_audit", date(2015, 5, 20)),
        *review.run("spe_analysis", date(2015, 6, 16)),
    ]
    scr.phases["moved"] = [review.moved("family_involvement", date(2015, 7, 15), None)]
    scr.phases["late_stages"] = [
        *review.run("progress_report", date(2015, 7, 1)),
        *review.run("learning_workshop", date(2015, 7, 22)),
        *review.run("initial_report", date(2015, 8, 19)),
        *review.run("programmes_of_action", date(2015, 9, 16)),
        review.final_report(date(2015, 9, 20)),
        review.learning_summary(REFERENCE_CODE, date(2015, 9, 25)),
    ]
    scr.phases["trial_over"] = [
        review.concluded(investigation, date(2016, 1, 15)),
        review.lifted(hold, date(2016, 1, 20)),
        *review.run("family_involvement", date(2016, 1, 25)),
    ]
    scr.phases["published"] = [review.published(date(2016, 2, 1))]
    scr.phases["closed"] = [review.closed(date(2016, 2, 10), REFERENCE_CODE)]
    return scr
