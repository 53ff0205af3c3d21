"""Examples of every notifications event (and the 2018 regime's two decisioning commands), taken from the
log of a real run of the service on the in-memory store, so they are built the way the service builds them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import cache

from events.envelope import EventEnvelope
from events.notifications import NOTIFICATIONS_EVENTS
from tests.notifications_samples import Clock, Notifier, panel_notified, rapid_review_held
from tests.orchestration_samples import Case


@cache
def _recorded() -> dict[str, list[EventEnvelope]]:
    notifier = Notifier(Clock(date(2015, 3, 10)))
    case = Case()
    notifier.deliver(case.recommendation(deadlines={"chair_decision_due": date(2015, 4, 10)}))
    notifier.deliver(case.recommendation(deadlines={"chair_decision_due": date(2015, 4, 13)}))
    for day in (date(2015, 4, 6), date(2015, 4, 14)):
        notifier.tick(day, [case.case_id])
    first = case.decision("commission_macr", on=date(2015, 4, 15))
    notifier.deliver(first)
    notifier.deliver(case.decision("initiate_scr", on=date(2015, 4, 16), supersedes=first.event_id))
    notifier.tick(date(2015, 4, 16) + timedelta(days=15), [case.case_id])
    by_type: dict[str, list[EventEnvelope]] = {}
    for event in notifier.events():
        by_type.setdefault(event.event_type, []).append(event)
    return by_type


def _example(event_type: str, index: int = 0) -> Callable[[], EventEnvelope]:
    return lambda: _recorded()[event_type][index]


def _examples() -> dict[tuple[str, int], dict[str, Callable[[], EventEnvelope]]]:
    examples: dict[tuple[str, int], dict[str, Callable[[], EventEnvelope]]] = {}
    for model in NOTIFICATIONS_EVENTS:
        event_type = model.model_fields["event_type"].default
        version = model.model_fields["schema_version"].default
        examples[(event_type, version)] = {"first": _example(event_type), "last": _example(event_type, -1)}
    case = Case()
    examples[("decisioning.panel_notification_recorded", 1)] = {
        "on-time": lambda: panel_notified(case, date(2019, 4, 23), date(2019, 4, 24)),
    }
    examples[("decisioning.rapid_review_held", 1)] = {
        "late": lambda: rapid_review_held(case, date(2019, 5, 10), date(2019, 5, 8)),
    }
    return examples


NOTIFICATIONS_EXAMPLES = _examples()
