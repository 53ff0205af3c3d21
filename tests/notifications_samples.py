"""The notifications application on eventsourcing's in-memory store, fed as a log follower feeds it, on a
clock the test moves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from uuid import UUID, uuid4

from events.decisioning import (
    PanelNotificationRecorded,
    PanelNotificationRecordedPayload,
    RapidReviewHeld,
    RapidReviewHeldPayload,
)
from events.envelope import EventEnvelope
from events.registry import parse_event
from lif.delivery.delivered import Delivered
from lif.delivery.log import read_log
from services.notifications.application import NotificationsApplication
from tests.orchestration_samples import CHAIR, Case


@dataclass
class Clock:
    day: date

    def __call__(self) -> date:
        return self.day


@dataclass
class Notifier:
    """A notifications application with its clock and an upstream stream to deliver on."""

    clock: Clock
    app: NotificationsApplication = field(init=False)
    key: str = field(default_factory=lambda: f"log:decisioning-{uuid4().hex[:8]}")
    position: int = 0

    def __post_init__(self) -> None:
        self.app = NotificationsApplication(env={}, today=self.clock)

    def deliver(self, event: EventEnvelope) -> bool:
        self.position += 1
        return self.app.handle(Delivered(self.key, self.position, event))

    def redeliver(self, event: EventEnvelope, key: str = "log:again") -> bool:
        """The same event again at a new position of another stream (a republication)."""
        self.position += 1
        return self.app.handle(Delivered(key, self.position, event))

    def tick(self, day: date, case_ids: list[UUID]) -> list[EventEnvelope]:
        self.clock.day = day
        return self.app.tick_cases(case_ids, day)

    def events(self) -> list[EventEnvelope]:
        return [parse_event(item.envelope) for item in read_log(self.app, 0, 100_000)]

    def of_type(self, event_type: str) -> list[EventEnvelope]:
        return [e for e in self.events() if e.event_type == event_type]


def panel_notified(case: Case, on: date, due: date) -> PanelNotificationRecorded:
    return PanelNotificationRecorded(
        **{**case._envelope(on), "actor": CHAIR},
        payload=PanelNotificationRecordedPayload(notified_on=on, due=due),
    )


def rapid_review_held(case: Case, on: date, due: date) -> RapidReviewHeld:
    return RapidReviewHeld(
        **{**case._envelope(on), "actor": CHAIR}, payload=RapidReviewHeldPayload(held_on=on, due=due)
    )
