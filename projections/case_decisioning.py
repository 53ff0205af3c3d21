"""What a case's decisioning events add up to: the latest recommendation, the decisions, notices, deadlines.

A pure fold over the case's events in recorded order. The projector re-folds every decisioning event of a
case whenever one arrives, so the result depends only on the set of events, never on the order they were
delivered in or on how often: a rebuild gives the same read model as live delivery.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from events.decisioning import (
    ChairDecisionRecorded,
    LeadReviewerAppointed,
    LearningThemesTagged,
    PanelNoticePrepared,
    PanelNoticeSent,
    PanelNotificationRecorded,
    RapidReviewHeld,
    Recommendation,
    RecommendationRecorded,
    ScrPanelReferralRecorded,
)
from events.envelope import EventEnvelope

CASE_LEVEL = ""
"""The `ref` of a deadline the case has once (from the recommendation); decision deadlines use its event id."""

MET_BY_FIRST_DECISION = "chair_decision_due"
"""T1: the Chair decides whether to initiate an SCR; the first decision meets it on its `decided_on`."""

MET_BY_COMMAND: dict[str, type[EventEnvelope]] = {
    "panel_notification_due": PanelNotificationRecorded,
    "rapid_review_due": RapidReviewHeld,
}
"""The 2018 regime's deadlines, each met by the board's command of that name (its business date)."""

MET_BY_NOTICE_SENT = "panel_notice_due"
"""T2: each decision's National Panel notice; met when the notice prepared for that decision is sent."""


@dataclass(frozen=True)
class DeadlineState:
    """One deadline of a case; `met_on` is the business date it was met, `met_at` when LIF learnt it."""

    name: str
    ref: str
    due: date
    met_at: datetime | None = None
    met_on: date | None = None


@dataclass(frozen=True)
class CaseDecisioning:
    """The read-model columns the decisioning events own (JSON-ready values for the jsonb columns)."""

    recommendation: Recommendation | None = None
    recommended_at: datetime | None = None
    considered_for_scr: bool = False
    referred_at: datetime | None = None
    referred_on: date | None = None
    decision: dict[str, Any] | None = None
    decisions_count: int = 0
    lead_reviewers: list[dict[str, Any]] = field(default_factory=list)
    panel_notices: list[dict[str, Any]] = field(default_factory=list)
    learning_themes: dict[str, Any] | None = None
    deadlines: list[DeadlineState] = field(default_factory=list)


def recorded_order(events: Iterable[EventEnvelope]) -> list[EventEnvelope]:
    """Record time, then business time, then event id: the order every view of a case uses."""
    return sorted(events, key=lambda e: (e.recorded_at, e.occurred_at, str(e.event_id)))


def decision_summary(event: ChairDecisionRecorded) -> dict[str, Any]:
    """The decision as the case view shows it (the audit timeline shows every field)."""
    p = event.payload
    return {
        "event_id": str(event.event_id),
        "decision": p.decision,
        "decided_on": p.decided_on.isoformat(),
        "departs_from_recommendation": p.departs_from_recommendation,
        "considered_for_scr": p.considered_for_scr,
        "scr_route": p.scr_route,
        "methodology": None if p.methodology is None else p.methodology.model_dump(mode="json"),
        "forum_theme": p.forum_theme,
        "supersedes": None if p.supersedes is None else str(p.supersedes),
        "rule_pack": p.rule_pack,
        "rule_pack_version": p.rule_pack_version,
        "recorded_at": event.recorded_at.isoformat(),
    }


def _current_decision(decisions: Sequence[ChairDecisionRecorded]) -> ChairDecisionRecorded | None:
    """The latest decision that no other decision supersedes (both stay in the history)."""
    superseded = {d.payload.supersedes for d in decisions if d.payload.supersedes is not None}
    standing = [d for d in decisions if d.event_id not in superseded] or list(decisions)
    return standing[-1] if standing else None


def _notices(
    prepared: Sequence[PanelNoticePrepared], sent: Sequence[PanelNoticeSent]
) -> tuple[list[dict[str, Any]], dict[UUID, PanelNoticeSent]]:
    """One entry per notice id (a retried command may prepare it twice), with the first time it was sent."""
    first_sent: dict[UUID, PanelNoticeSent] = {}
    for mark in sent:
        first_sent.setdefault(mark.payload.notice_id, mark)
    notices: dict[UUID, dict[str, Any]] = {}
    sent_by_decision: dict[UUID, PanelNoticeSent] = {}
    for notice in prepared:
        p = notice.payload
        if p.notice_id in notices:
            continue
        marked = first_sent.get(p.notice_id)
        notices[p.notice_id] = {
            "notice_id": str(p.notice_id),
            "decision_event_id": str(p.decision_event_id),
            "initiating": p.initiating,
            "content_rule": p.content_rule,
            "due": p.due.isoformat(),
            "document_id": str(p.document.document_id),
            "prepared_at": notice.recorded_at.isoformat(),
            "sent_on": None if marked is None else marked.payload.sent_on.isoformat(),
        }
        if marked is not None:
            earlier = sent_by_decision.get(p.decision_event_id)
            if earlier is None or marked.payload.sent_on < earlier.payload.sent_on:
                sent_by_decision[p.decision_event_id] = marked
    return list(notices.values()), sent_by_decision


def _deadlines(
    recommendation: Recommendation | None,
    decisions: Sequence[ChairDecisionRecorded],
    sent_by_decision: dict[UUID, PanelNoticeSent],
    commands: Sequence[EventEnvelope] = (),
) -> list[DeadlineState]:
    first = decisions[0] if decisions else None
    deadlines: list[DeadlineState] = []
    for name, due in (recommendation.deadlines if recommendation else {}).items():
        met_by = next((e for e in commands if isinstance(e, MET_BY_COMMAND.get(name, ()))), None)
        if name == MET_BY_FIRST_DECISION and first is not None:
            deadlines.append(DeadlineState(name, CASE_LEVEL, due, first.recorded_at, first.payload.decided_on))
        elif isinstance(met_by, PanelNotificationRecorded | RapidReviewHeld):
            on = met_by.payload.notified_on if isinstance(met_by, PanelNotificationRecorded) else met_by.payload.held_on
            deadlines.append(DeadlineState(name, CASE_LEVEL, due, met_by.recorded_at, on))
        else:
            deadlines.append(DeadlineState(name, CASE_LEVEL, due))
    for decision in decisions:
        for name, due in decision.payload.deadlines.items():
            marked = sent_by_decision.get(decision.event_id) if name == MET_BY_NOTICE_SENT else None
            if marked is None:
                deadlines.append(DeadlineState(name, str(decision.event_id), due))
            else:
                deadlines.append(
                    DeadlineState(name, str(decision.event_id), due, marked.recorded_at, marked.payload.sent_on)
                )
    return deadlines


def fold_case(events: Iterable[EventEnvelope]) -> CaseDecisioning:
    """Fold the decisioning events of one case (any order, duplicates by event id ignored)."""
    unique = {event.event_id: event for event in events}
    ordered = recorded_order(unique.values())
    recommendations = [e for e in ordered if isinstance(e, RecommendationRecorded)]
    decisions = [e for e in ordered if isinstance(e, ChairDecisionRecorded)]
    referrals = [e for e in ordered if isinstance(e, ScrPanelReferralRecorded)]
    themes = [e for e in ordered if isinstance(e, LearningThemesTagged)]
    notices, sent_by_decision = _notices(
        [e for e in ordered if isinstance(e, PanelNoticePrepared)],
        [e for e in ordered if isinstance(e, PanelNoticeSent)],
    )
    latest = recommendations[-1] if recommendations else None
    recommendation = latest.payload.recommendation if latest else None
    current = _current_decision(decisions)
    return CaseDecisioning(
        recommendation=recommendation,
        recommended_at=latest.recorded_at if latest else None,
        considered_for_scr=any(r.payload.recommendation.statutory_scr for r in recommendations)
        or bool(referrals)
        or any(d.payload.considered_for_scr for d in decisions),
        referred_at=referrals[0].occurred_at if referrals else None,
        referred_on=min(r.payload.referred_on for r in referrals) if referrals else None,
        decision=None if current is None else decision_summary(current),
        decisions_count=len(decisions),
        lead_reviewers=[
            {
                "reviewer_id": e.payload.reviewer_id,
                "review": e.payload.review,
                "appointed_on": e.payload.appointed_on.isoformat(),
                "decision_event_id": str(e.payload.decision_event_id),
                "independence": e.payload.independence,
                "event_id": str(e.event_id),
            }
            for e in ordered
            if isinstance(e, LeadReviewerAppointed)
        ],
        panel_notices=notices,
        learning_themes=None
        if not themes
        else {
            "themes": list(themes[-1].payload.themes),
            "typology": themes[-1].payload.typology,
            "typology_version": themes[-1].payload.typology_version,
            "tagged_at": themes[-1].recorded_at.isoformat(),
            "event_id": str(themes[-1].event_id),
        },
        deadlines=_deadlines(
            recommendation,
            decisions,
            sent_by_decision,
            [e for e in ordered if isinstance(e, PanelNotificationRecorded | RapidReviewHeld)],
        ),
    )


def breached(due: date, met_at: datetime | None, met_on: date | None, today: date) -> bool:
    """Open past its due date, or met on a date after it (rules.md section 2)."""
    if met_at is None and met_on is None:
        return today > due
    return met_on is not None and met_on > due
