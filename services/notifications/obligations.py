"""Which obligations the other services' events open, move, meet or cancel (rules.md sections 2, 7 and 8).

* A recommendation's deadlines: T1 (`chair_decision_due`) and, in the 2018 regime, `panel_notification_due`
  and `rapid_review_due`; a later recommendation that recomputes one moves it.
* The Chair's decision meets T1 and opens its T2 (`panel_notice_due`, one per decision); a later decision
  cancels the earlier decision's T2 if its notice was not sent (superseded). A notice marked sent meets its
  decision's T2. The Panel notified and the rapid review held meet the 2018 regime's two deadlines.
* A review plan opens one `stage_due` per dated stage and T6 (`scr_completion_due`); a stage held meets its
  obligation, a stage moved moves it, a stage the plan drops (or a review not initiated) cancels it.
  Publication meets T6 and opens T7 (the report stays available until `available_until`); closure meets an
  open T6 and cancels the stages left open.
* `pre_decision_due` is not an obligation of its own: stages 1-3 carry the same date each.
* Learning collation's dates (rules.md sections 6 and 8, under the versioned rules of
  `services.notifications.learning_rules`): an action's due date opens `action_due` (a new due date moves
  it), its status done meets it and cancelled cancels it; a re-audit's date opens `reaudit_due`, met by the
  impact evidence that names it. They are a recommendation's, not a case's: the obligation notes its
  recommendation and names no case, even where the learning came from a LIF review.
Any other deadline name a pack adds becomes an obligation of that kind, under the schedule's `*` steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID, uuid4, uuid5

from pydantic import BaseModel

from events.decisioning import (
    ChairDecisionRecorded,
    PanelNoticePrepared,
    PanelNoticeSent,
    PanelNotificationRecorded,
    RapidReviewHeld,
    RecommendationRecorded,
)
from events.envelope import Actor, EventEnvelope
from events.learning import ActionDueSet, ActionDueSetPayload, ActionStatusChanged, ImpactEvidenced, ReauditScheduled
from events.notifications import (
    CancelReason,
    ObligationCancelled,
    ObligationCancelledPayload,
    ObligationMet,
    ObligationMetPayload,
    ObligationMoved,
    ObligationMovedPayload,
    ObligationOpened,
    ObligationOpenedPayload,
)
from events.orchestration import (
    MemberAdded,
    MemberRemoved,
    ReviewClosed,
    ReviewNotInitiated,
    ReviewPlanStarted,
    ReviewProcessOpened,
    ReviewPublished,
    StageHeld,
    StageMoved,
)
from lif.clock import LONDON
from services.notifications.learning_rules import ACTION_DUE, CURRENT, REAUDIT_DUE, load_rules
from services.notifications.schedules import schedule_for
from services.notifications.state import CaseState, Obligation

OBLIGATION_NAMESPACE = UUID("3c6f0d2e-8a41-4b7e-95c3-1d2e3f4a5b6c")
SERVICE_ACTOR = Actor(kind="service", id="notifications", role=None)
DEADLINE_KINDS = {"chair_decision_due": "T1", "panel_notice_due": "T2", "scr_completion_due": "T6"}
NOT_OBLIGATIONS = frozenset({"pre_decision_due"})
UPSTREAM_EVENTS = (
    RecommendationRecorded,
    ChairDecisionRecorded,
    PanelNoticePrepared,
    PanelNoticeSent,
    PanelNotificationRecorded,
    RapidReviewHeld,
    ReviewProcessOpened,
    ReviewPlanStarted,
    ReviewNotInitiated,
    StageHeld,
    StageMoved,
    MemberAdded,
    MemberRemoved,
    ReviewPublished,
    ReviewClosed,
    ActionDueSet,
    ActionStatusChanged,
    ReauditScheduled,
    ImpactEvidenced,
)


def obligation_id_for(case_id: UUID, kind: str, ref: str = "") -> UUID:
    """Stable: the same duty of the same case always has the same id, in every instance and replay."""
    return uuid5(OBLIGATION_NAMESPACE, f"{case_id}/{kind}/{ref}")


def kind_of(deadline: str) -> str:
    return DEADLINE_KINDS.get(deadline, deadline)


def business_time(day: date) -> datetime:
    return datetime.combine(day, time(0), LONDON).astimezone(UTC)


def new_event(
    model: type[EventEnvelope],
    source: EventEnvelope | CaseState,
    correlation_id: UUID,
    payload: BaseModel,
    *,
    on: date,
    causation_id: UUID | None,
    event_id: UUID | None = None,
) -> EventEnvelope:
    return model(  # type: ignore[call-arg]  # every concrete event has a payload
        event_id=event_id or uuid4(),
        lscb=source.lscb,
        case_id=source.case_id,
        occurred_at=business_time(on),
        recorded_at=datetime.now(UTC),
        correlation_id=correlation_id,
        causation_id=causation_id,
        actor=SERVICE_ACTOR,
        payload=payload,
    )


@dataclass
class Reaction:
    """What one upstream event causes: contract events to record, and facts to note (internal)."""

    events: list[EventEnvelope] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


class _Builder:
    def __init__(self, event: EventEnvelope, state: CaseState, today: date) -> None:
        self.event = event
        self.state = state
        self.today = today
        self.out = Reaction()
        self.pending: dict[UUID, Obligation] = {}

    def find(self, kind: str, ref: str = "") -> Obligation | None:
        oid = obligation_id_for(self.event.case_id, kind, ref)
        return self.pending.get(oid) or self.state.obligations.get(oid)

    def open_or_move(
        self,
        kind: str,
        ref: str,
        due: date,
        rule_pack: str,
        review_id: UUID | None = None,
        schedule_name: str | None = None,
    ) -> None:
        """Open the obligation under `rule_pack` and the schedule of its regime (or `schedule_name`), or move it."""
        existing = self.find(kind, ref)
        if existing is None:
            schedule = schedule_for(self.event.lscb, schedule_name or rule_pack.partition("@")[0])
            payload = ObligationOpenedPayload(
                obligation_id=obligation_id_for(self.event.case_id, kind, ref),
                kind=kind,
                ref=ref,
                due=due,
                review_id=review_id,
                rule_pack=rule_pack,
                schedule=schedule.ref,
                answering_roles=schedule.for_kind(kind).answering_roles,
                source_event_id=self.event.event_id,
                learnt_on=self.today,
            )
            self._add(ObligationOpened, payload, self.today)
            self.pending[payload.obligation_id] = Obligation(
                payload.obligation_id, kind, ref, due, review_id, rule_pack, schedule.ref, [], self.today,
                self.event.event_id,
            )
        elif existing.is_open and existing.due != due:
            moved = ObligationMovedPayload(
                obligation_id=existing.obligation_id,
                kind=kind,
                previous_due=existing.due,
                due=due,
                rule_pack=rule_pack,
                source_event_id=self.event.event_id,
            )
            self._add(ObligationMoved, moved, self.today)

    def meet(self, kind: str, ref: str, on: date) -> None:
        found = self.find(kind, ref)
        if found is None or not found.is_open:
            return
        payload = ObligationMetPayload(
            obligation_id=found.obligation_id,
            kind=kind,
            due=found.due,
            met_on=on,
            met_by_event_id=self.event.event_id,
            met_by_event_type=self.event.event_type,
        )
        self._add(ObligationMet, payload, on)
        found.state = "met"

    def cancel(self, obligation: Obligation | None, reason: CancelReason, on: date) -> None:
        if obligation is None or not obligation.is_open:
            return
        payload = ObligationCancelledPayload(
            obligation_id=obligation.obligation_id,
            kind=obligation.kind,
            due=obligation.due,
            cancelled_on=on,
            reason=reason,
            by_event_id=self.event.event_id,
        )
        self._add(ObligationCancelled, payload, on)
        obligation.state = "cancelled"

    def _add(self, model: type[EventEnvelope], payload: BaseModel, on: date) -> None:
        self.out.events.append(
            new_event(model, self.event, self.event.correlation_id, payload, on=on, causation_id=self.event.event_id)
        )

    def open_of(self, kind: str) -> list[Obligation]:
        merged = {**self.state.obligations, **self.pending}
        return [o for o in merged.values() if o.kind == kind and o.is_open]


def react(event: EventEnvelope, state: CaseState, today: date) -> Reaction:
    """The obligations' answer to one upstream event, given the case's state and the day LIF learnt of it."""
    b = _Builder(event, state, today)
    if isinstance(event, RecommendationRecorded):
        rec = event.payload.recommendation
        pack = f"{rec.rule_pack}@{rec.rule_pack_version}"
        b.out.facts["regime"] = rec.rule_pack
        for name, due in sorted(rec.deadlines.items()):
            if name not in NOT_OBLIGATIONS:
                b.open_or_move(kind_of(name), "", due, pack)
    elif isinstance(event, ChairDecisionRecorded):
        p = event.payload
        b.meet("T1", "", p.decided_on)
        for earlier in b.open_of("T2"):
            if earlier.ref != str(event.event_id):
                b.cancel(earlier, "superseded", p.decided_on)
        pack = f"{p.rule_pack}@{p.rule_pack_version}"
        for name, due in sorted(p.deadlines.items()):
            if name not in NOT_OBLIGATIONS:
                b.open_or_move(kind_of(name), str(event.event_id), due, pack)
    elif isinstance(event, PanelNoticePrepared):
        b.out.facts["notices"] = {str(event.payload.notice_id): str(event.payload.decision_event_id)}
    elif isinstance(event, PanelNoticeSent):
        decision = state.notices.get(str(event.payload.notice_id))
        if decision is not None:
            b.meet("T2", decision, event.payload.sent_on)
    elif isinstance(event, PanelNotificationRecorded):
        b.meet("panel_notification_due", "", event.payload.notified_on)
    elif isinstance(event, RapidReviewHeld):
        b.meet("rapid_review_due", "", event.payload.held_on)
    elif isinstance(event, ActionDueSet | ActionStatusChanged | ReauditScheduled | ImpactEvidenced):
        _react_to_learning(b, event)
    else:
        _react_to_review(b, event, state)
    return b.out


def _react_to_learning(
    b: _Builder, event: ActionDueSet | ActionStatusChanged | ReauditScheduled | ImpactEvidenced
) -> None:
    """A recommendation's action and re-audit dates, under the learning rules they were opened under."""
    if isinstance(event, ActionDueSet | ReauditScheduled):
        p = event.payload
        kind, ref = (
            (ACTION_DUE, str(p.action_id)) if isinstance(p, ActionDueSetPayload) else (REAUDIT_DUE, str(p.reaudit_id))
        )
        found = b.find(kind, ref)
        rules = load_rules(found.rule_pack if found is not None else CURRENT)
        if found is None:
            b.out.facts["recommendations"] = {
                str(obligation_id_for(event.case_id, kind, ref)): str(p.recommendation_id)
            }
        b.open_or_move(kind, ref, p.due, rules.ref, schedule_name=rules.schedule)
    elif isinstance(event, ActionStatusChanged):
        found = b.find(ACTION_DUE, str(event.payload.action_id))
        if found is None:
            return
        spec = load_rules(found.rule_pack).kinds[ACTION_DUE]
        if event.payload.status in spec.met_by_status:
            b.meet(ACTION_DUE, found.ref, event.payload.on)
        elif event.payload.status in spec.cancelled_by_status:
            b.cancel(found, "action_cancelled", event.payload.on)
    elif event.payload.reaudit_id is not None:
        found = b.find(REAUDIT_DUE, str(event.payload.reaudit_id))
        if found is not None and event.payload.result in load_rules(found.rule_pack).kinds[REAUDIT_DUE].met_by_results:
            b.meet(REAUDIT_DUE, found.ref, event.payload.audited_on)


def _react_to_review(b: _Builder, event: EventEnvelope, state: CaseState) -> None:
    if isinstance(event, ReviewProcessOpened):
        b.out.facts["review_id"] = str(event.payload.review_id)
    elif isinstance(event, ReviewPlanStarted):
        plan = event.payload
        pack = f"{plan.regime}@{plan.plan_version}"
        b.out.facts["plan_pack"] = pack
        for stage_id in plan.dropped_stages:
            b.cancel(b.find("stage_due", stage_id), "dropped_from_plan", plan.started_on)
        for planned in plan.stages:
            if planned.step == "stage" and planned.due is not None:
                b.open_or_move("stage_due", planned.stage_id, planned.due, pack, state.review_id)
        for name, due in sorted(plan.deadlines.items()):
            if name not in NOT_OBLIGATIONS:
                b.open_or_move(kind_of(name), "", due, pack, state.review_id)
    elif isinstance(event, ReviewNotInitiated):
        stopped = event.payload
        for stage_id in stopped.dropped_stages:
            b.cancel(b.find("stage_due", stage_id), "review_stopped", stopped.decided_on)
        b.cancel(b.find("T6"), "review_stopped", stopped.decided_on)
    elif isinstance(event, StageHeld):
        b.meet("stage_due", event.payload.stage_id, event.payload.held_on)
    elif isinstance(event, StageMoved):
        moved = event.payload
        found = b.find("stage_due", moved.stage_id)
        if moved.new_due is None:
            b.cancel(found, "no_date", b.today)
        elif found is not None:
            b.open_or_move("stage_due", moved.stage_id, moved.new_due, found.rule_pack, found.review_id)
    elif isinstance(event, ReviewPublished):
        published = event.payload
        b.meet("T6", "", published.published_on)
        pack = state.plan_pack or f"{state.regime}@unknown"
        b.open_or_move("T7", "", published.available_until, pack, state.review_id)
    elif isinstance(event, ReviewClosed):
        closed = event.payload
        b.meet("T6", "", closed.closed_on)
        for open_stage in b.open_of("stage_due"):
            b.cancel(open_stage, "review_closed", closed.closed_on)
    elif isinstance(event, MemberAdded):
        b.out.facts["member_added"] = [[event.payload.group, event.payload.member_id]]
    elif isinstance(event, MemberRemoved):
        b.out.facts["member_removed"] = [[event.payload.group, event.payload.member_id]]
