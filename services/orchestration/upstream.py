"""How orchestration answers decisioning's events (the automatic part of a review's life).

* A recommendation with `statutory_scr`, or a referral to the SCR panel, makes the case *considered for an
  SCR* (rules.md 1 C): a process opens with the pre-decision stages 1-3, due inside T1.
* The Chair's decision is the decision in force, whether or not it names `supersedes`: the latest one wins.
  `initiate_scr` continues with the Intensive or Targeted plan (T6 from the first initiation), `commission_macr`
  and `request_iar` start the board's MACR/IAR method, and the other decisions stop the process
  (`review_not_initiated`). A decision that starts the plan already in force records nothing; a closed review
  is never reopened; a later decision may restart a stopped process (e.g. a discretionary SCR after peer
  challenge). Progress on stages the old and new plan share is kept. A decision taken before stages 1-3 were
  held never drops them: they happen before the decision (rules.md 4), so they stay open and recordable,
  late against T1.
* A lead reviewer's appointment adds them to the Review Group as `lead_reviewer`.
* `opened_on` is the business date of the event that opened the process: the day a recommendation was
  made (its record date: a recommendation happens when it is recorded), a referral's `referred_on`, a
  decision's `decided_on`.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from events.decisioning import (
    ChairDecisionRecorded,
    LeadReviewerAppointed,
    RecommendationRecorded,
    ScrPanelReferralRecorded,
)
from events.envelope import EventEnvelope
from events.orchestration import (
    MemberAdded,
    MemberAddedPayload,
    MemberRemoved,
    MemberRemovedPayload,
    ReviewKind,
    ReviewNotInitiated,
    ReviewNotInitiatedPayload,
    ReviewPlanStarted,
    ReviewPlanStartedPayload,
    ReviewProcessOpened,
    ReviewProcessOpenedPayload,
)
from lif.boards import get_board
from services.orchestration.domain import review_id_for
from services.orchestration.envelopes import CaseRef, london_date, new_event
from services.orchestration.plans import Plan, load_plan_set
from services.orchestration.state import ReviewState

REGIME_CHANGE = date(2018, 6, 29)
UPSTREAM_EVENTS = (RecommendationRecorded, ScrPanelReferralRecorded, ChairDecisionRecorded, LeadReviewerAppointed)
Trigger = Literal["statutory_recommendation", "scr_panel_referral", "chair_decision"]


def react(
    event: EventEnvelope, state: ReviewState | None, known_pack: str | None, known_deadlines: dict[str, date]
) -> list[EventEnvelope]:
    """The events orchestration records in answer to one upstream event (none when it changes nothing)."""
    if isinstance(event, RecommendationRecorded):
        rec = event.payload.recommendation
        if not rec.statutory_scr:
            return []
        return _consider(
            event, state, "statutory_recommendation", rec.rule_pack, rec.deadlines, london_date(event.recorded_at)
        )
    if isinstance(event, ScrPanelReferralRecorded):
        referred = event.payload.referred_on
        pack = known_pack or _regime_by_date(event.lscb, referred)
        return _consider(event, state, "scr_panel_referral", pack, known_deadlines, referred)
    if isinstance(event, ChairDecisionRecorded):
        return _decide(event, state)
    if isinstance(event, LeadReviewerAppointed):
        return _appoint(event, state)
    return []


def _regime_by_date(lscb: str, on: date) -> str:
    """Without a recommendation: the board's pinned pack, else the regime in force on that date."""
    board = get_board(lscb)
    if board is not None and board.rule_pack:
        return board.rule_pack.split("@")[0]
    return "cspr-2018" if on >= REGIME_CHANGE else "nwlif-2015"


def _consider(
    event: EventEnvelope,
    state: ReviewState | None,
    trigger: Trigger,
    regime: str,
    upstream: dict[str, date],
    opened_on: date,
) -> list[EventEnvelope]:
    if state is not None:
        return []  # already under review (or decided): being considered again changes nothing
    plan = load_plan_set(regime).pre_decision()
    return [
        _opened(event, trigger, regime, opened_on, considered=True),
        _plan_started(event, None, plan, opened_on, upstream, None),
    ]


def _decide(event: ChairDecisionRecorded, state: ReviewState | None) -> list[EventEnvelope]:
    p = event.payload
    plan = _plan_for_decision(event)
    case = CaseRef.of(event)
    if state is not None and state.status == "closed":
        return []
    if plan is None:
        if state is None or state.status == "not_initiated":
            return []
        dropped = [s.stage_id for s in state.current_stages() if s.held_on is None]
        payload = ReviewNotInitiatedPayload(
            decision_event_id=event.event_id,
            decision=p.decision,
            decided_on=p.decided_on,
            ended_plan=state.plan_id,
            dropped_stages=dropped,
        )
        return [new_event(ReviewNotInitiated, case, payload, on=p.decided_on, causation_id=event.event_id)]
    if state is not None and state.status == "in_review" and (state.plan_id, state.regime) == (plan.id, plan.regime):
        return []  # the plan in force already
    kept_t6 = None
    if state is not None and state.phase == "review" and state.review_kind == "scr" and plan.doc.review_kind == "scr":
        kept_t6 = state.deadlines.get("scr_completion_due")  # T6 runs from the first initiation
    opened: list[EventEnvelope] = []
    if state is None:
        opened = [_opened(event, "chair_decision", plan.regime, p.decided_on, considered=p.considered_for_scr)]
    started = _plan_started(event, state, plan, p.decided_on, {}, kept_t6)
    return [*opened, started, *_independence(event, state, plan)]


def _independence(event: ChairDecisionRecorded, state: ReviewState | None, plan: Plan) -> list[EventEnvelope]:
    """A review that becomes an SCR keeps only the lead reviewers the Chair appointed (independence rule)."""
    if state is None or plan.doc.review_kind != "scr":
        return []
    return [
        new_event(
            MemberRemoved,
            CaseRef.of(event),
            MemberRemovedPayload(group=member.added.group, member_id=member.added.member_id, reason="not_independent"),
            on=event.payload.decided_on,
            causation_id=event.event_id,
        )
        for member in state.members.values()
        if member.added.role == "lead_reviewer" and member.added.source == "command"
    ]


def _plan_for_decision(event: ChairDecisionRecorded) -> Plan | None:
    p = event.payload
    plans = load_plan_set(p.rule_pack)
    board = get_board(event.lscb)
    if p.decision == "initiate_scr":
        methodology = p.methodology.methodology if p.methodology else p.recommendation.methodology_hint
        return plans.scr(methodology or "intensive")
    if p.decision == "commission_macr":
        return plans.for_method("macr", board.review_method("macr") if board else None)
    if p.decision == "request_iar":
        return plans.for_method("iar", board.review_method("iar") if board else None)
    return None  # propose_forum, embedding_review, no_review: no review process


def _appoint(event: LeadReviewerAppointed, state: ReviewState | None) -> list[EventEnvelope]:
    member_id = event.payload.reviewer_id
    if state is None or not state.is_open or state.member("review_group", member_id) is not None:
        return []
    payload = MemberAddedPayload(
        group="review_group",
        member_id=member_id,
        role="lead_reviewer",
        agency=None,
        source="lead_reviewer_appointment",
        appointment_event_id=event.event_id,
    )
    return [
        new_event(MemberAdded, CaseRef.of(event), payload, on=event.payload.appointed_on, causation_id=event.event_id)
    ]


def _opened(event: EventEnvelope, trigger: Trigger, regime: str, opened_on: date, *, considered: bool) -> EventEnvelope:
    payload = ReviewProcessOpenedPayload(
        review_id=review_id_for(event.case_id),
        trigger=trigger,
        trigger_event_id=event.event_id,
        opened_on=opened_on,
        considered_for_scr=considered,
        regime=regime,
    )
    return new_event(ReviewProcessOpened, CaseRef.of(event), payload, on=opened_on, causation_id=event.event_id)


def _plan_started(
    event: EventEnvelope,
    state: ReviewState | None,
    plan: Plan,
    start: date,
    upstream: dict[str, date],
    kept_deadline: date | None,
) -> EventEnvelope:
    deadline = plan.deadline(start, upstream)
    if deadline is not None and kept_deadline is not None:
        deadline = (deadline[0], kept_deadline)
    stages = plan.planned_stages(start, deadline[1] if deadline else None)
    new_ids = {s.stage_id for s in stages}
    dropped = (
        []
        if state is None
        else [
            s.stage_id
            for s in state.current_stages()
            if s.held_on is None and s.stage_id not in new_ids and s.plan_id != state.pre_decision_plan_id
        ]
    )
    kind: ReviewKind = plan.doc.review_kind
    payload = ReviewPlanStartedPayload(
        phase=plan.doc.phase,
        review_kind=kind,
        method=plan.doc.method,
        plan_id=plan.id,
        regime=plan.regime,
        plan_version=plan.version,
        started_on=start,
        decision_event_id=event.event_id if isinstance(event, ChairDecisionRecorded) else None,
        stages=stages,
        deadlines=dict([deadline]) if deadline else {},
        replaces_plan=None if state is None else state.plan_id,
        dropped_stages=dropped,
    )
    return new_event(ReviewPlanStarted, CaseRef.of(event), payload, on=start, causation_id=event.event_id)
