"""A case's obligations as folded from the notifications events, and what the service noted of the case.

Replaying the events is all the state there is: `CaseState.apply` is the one place an event changes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal
from uuid import UUID

from events.envelope import EventEnvelope
from events.notifications import (
    ObligationBreached,
    ObligationCancelled,
    ObligationMet,
    ObligationMoved,
    ObligationOpened,
    ReminderDue,
)

Recorded = Literal["open", "met", "cancelled"]


@dataclass
class Move:
    due: date
    rule_pack: str
    source_event_id: UUID
    recorded_at: str


@dataclass
class Obligation:
    obligation_id: UUID
    kind: str
    ref: str
    due: date
    review_id: UUID | None
    rule_pack: str
    schedule: str
    answering_roles: list[str]
    learnt_on: date
    source_event_id: UUID
    state: Recorded = "open"
    met_on: date | None = None
    met_by_event_id: UUID | None = None
    met_by_event_type: str | None = None
    cancelled_on: date | None = None
    cancelled_reason: str | None = None
    history: list[Move] = field(default_factory=list)
    fired: dict[str, str] = field(default_factory=dict)
    """Timer key (`step_id:fired_for`) to the event type it recorded."""
    last_fired_for: date | None = None
    recommendation_id: UUID | None = None
    """The learning recommendation whose action or re-audit it is (None: a case's obligation)."""

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    def public_state(self, today: date) -> str:
        """open, met, cancelled, or breached (open and past its due date: rules.md section 2)."""
        if self.state == "open" and today > self.due:
            return "breached"
        return self.state

    def view(self, today: date) -> dict[str, Any]:
        return {
            "obligation_id": str(self.obligation_id),
            "kind": self.kind,
            "ref": self.ref,
            "due": self.due.isoformat(),
            "state": self.public_state(today),
            "rule_pack": self.rule_pack,
            "schedule": self.schedule,
            "answering_roles": list(self.answering_roles),
            "met_on": None if self.met_on is None else self.met_on.isoformat(),
            "met_by_event_id": None if self.met_by_event_id is None else str(self.met_by_event_id),
            "met_by_event_type": self.met_by_event_type,
            "late": self.met_on is not None and self.met_on > self.due,
            "cancelled_on": None if self.cancelled_on is None else self.cancelled_on.isoformat(),
            "cancelled_reason": self.cancelled_reason,
            "history": [
                {
                    "due": m.due.isoformat(),
                    "rule_pack": m.rule_pack,
                    "source_event_id": str(m.source_event_id),
                    "recorded_at": m.recorded_at,
                }
                for m in self.history
            ],
            "timers_fired": sorted(self.fired),
            "recommendation_id": None if self.recommendation_id is None else str(self.recommendation_id),
        }


@dataclass
class CaseState:
    """The obligations kept under one id: a case's, or those of the learning recommendations whose events
    travel under it (a LIF review's case, or a forum's, audit's or legacy review's own source id). A
    recommendation's obligation names no case (`Obligation.recommendation_id` set)."""

    case_id: UUID
    lscb: str
    correlation_id: UUID
    obligations: dict[UUID, Obligation] = field(default_factory=dict)
    notices: dict[str, str] = field(default_factory=dict)
    """National Panel notice id to the decision it is for (T2 is met by that decision's notice)."""
    review_id: UUID | None = None
    members: dict[str, list[str]] = field(default_factory=dict)
    """Review Group and Case Group member ids by group (a reviewer token sees the review it is a member of)."""
    regime: str | None = None
    plan_pack: str | None = None
    """The review plan in force, `regime@version` (T7 is set by publication under it)."""
    recommendations: dict[str, str] = field(default_factory=dict)
    """A learning obligation's id to its recommendation's (noted before the obligation is opened)."""

    def member_ids(self) -> list[str]:
        return sorted({m for ids in self.members.values() for m in ids})

    def note(self, facts: dict[str, Any]) -> None:
        """What an upstream event told the service beyond obligations (from the internal `Seen` event)."""
        for notice_id, decision_id in (facts.get("notices") or {}).items():
            self.notices[notice_id] = decision_id
        if facts.get("review_id"):
            self.review_id = UUID(facts["review_id"])
        if facts.get("regime"):
            self.regime = facts["regime"]
        if facts.get("plan_pack"):
            self.plan_pack = facts["plan_pack"]
        for group, member in facts.get("member_added") or []:
            ids = self.members.setdefault(group, [])
            if member not in ids:
                ids.append(member)
        self.recommendations.update(facts.get("recommendations") or {})
        for group, member in facts.get("member_removed") or []:
            if member in self.members.get(group, []):
                self.members[group].remove(member)

    def apply(self, event: EventEnvelope) -> None:
        recorded_at = event.recorded_at.isoformat()
        if isinstance(event, ObligationOpened):
            p = event.payload
            self.obligations[p.obligation_id] = Obligation(
                obligation_id=p.obligation_id,
                kind=p.kind,
                ref=p.ref,
                due=p.due,
                review_id=p.review_id,
                rule_pack=p.rule_pack,
                schedule=p.schedule,
                answering_roles=list(p.answering_roles),
                learnt_on=p.learnt_on,
                source_event_id=p.source_event_id,
                history=[Move(p.due, p.rule_pack, p.source_event_id, recorded_at)],
                recommendation_id=_uuid_or_none(self.recommendations.get(str(p.obligation_id))),
            )
        elif isinstance(event, ObligationMoved):
            moved = self.obligations[event.payload.obligation_id]
            moved.due = event.payload.due
            moved.rule_pack = event.payload.rule_pack
            moved.history.append(
                Move(event.payload.due, event.payload.rule_pack, event.payload.source_event_id, recorded_at)
            )
        elif isinstance(event, ObligationMet):
            met = self.obligations[event.payload.obligation_id]
            met.state = "met"
            met.met_on = event.payload.met_on
            met.met_by_event_id = event.payload.met_by_event_id
            met.met_by_event_type = event.payload.met_by_event_type
        elif isinstance(event, ObligationCancelled):
            cancelled = self.obligations[event.payload.obligation_id]
            cancelled.state = "cancelled"
            cancelled.cancelled_on = event.payload.cancelled_on
            cancelled.cancelled_reason = event.payload.reason
        elif isinstance(event, ReminderDue | ObligationBreached):
            fired = self.obligations[event.payload.obligation_id]
            fired.fired[timer_key(event.payload.step.step_id, event.payload.fired_for)] = event.event_type
            if fired.last_fired_for is None or event.payload.fired_for > fired.last_fired_for:
                fired.last_fired_for = event.payload.fired_for


def _uuid_or_none(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)


def timer_key(step_id: str, fired_for: date) -> str:
    return f"{step_id}:{fired_for.isoformat()}"
