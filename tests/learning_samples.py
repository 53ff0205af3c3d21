"""Learning collation on eventsourcing's in-memory store, with an in-memory text store (unit tests, examples)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from events.envelope import Actor, EventEnvelope
from events.learning import ThemeTag
from events.registry import parse_event
from lif.delivery.log import read_log
from services.learning.application import LearningApplication, SourceInput, request_hash
from services.orchestration.texts import MemoryTextStore

BM = Actor(kind="person", id="bol-bm", role="business_manager")
SCIE = "scie-learning-together"


def popo_learning() -> LearningApplication:
    return LearningApplication(env={}, texts=MemoryTextStore())


def forum(reference: str = "BOL-FORUM-2015-01", lscb: str = "BOL") -> SourceInput:
    return SourceInput(
        kind="forum",
        lscb=lscb,
        reference=reference,
        on=date(2015, 6, 1),
        themes=[ThemeTag(typology=SCIE, version="1", code="family_professional_interaction")],
        document={"title": "Disguised compliance", "findings": "Practitioners accepted parents' accounts."},
        single_agency=["Health: review health visiting supervision."],
        multi_agency=["All agencies: joint training on disguised compliance."],
    )


def tracked_forum(app: LearningApplication) -> UUID:
    """A forum with two recommendations; the first gets an action moved, done, a re-audit and evidence."""
    source = forum()
    app.record_source(BM, source, request_hash({"reference": source.reference}))
    tracked = next(e for e in recorded_events(app) if e.event_type == "learning.recommendation_tracked")
    recommendation_id: UUID = tracked.payload.recommendation_id  # type: ignore[attr-defined]
    action = app.add_action(recommendation_id, BM, "health", date(2015, 9, 1), "Audit supervision files.", "a1", "h1")
    action_id = UUID(action.event["payload"]["action_id"])
    app.update_action(
        recommendation_id, action_id, BM, status=None, due=date(2015, 10, 1), on=date(2015, 8, 1), key="m", hashed="h"
    )
    app.update_action(
        recommendation_id, action_id, BM, status="done", due=None, on=date(2015, 9, 20), key="d", hashed="h2"
    )
    reaudit = app.schedule_reaudit(recommendation_id, BM, date(2016, 3, 1), "r1", "h3")
    app.record_impact(
        recommendation_id,
        BM,
        date(2016, 3, 2),
        "evidenced",
        "Supervision records show the change.",
        UUID(reaudit.event["payload"]["reaudit_id"]),
        "e1",
        "h4",
    )
    return recommendation_id


def recorded_events(app: LearningApplication) -> list[EventEnvelope]:
    return [parse_event(item.envelope) for item in read_log(app, 0, 100_000)]
