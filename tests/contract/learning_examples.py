"""Examples of every learning event, taken from the log of a real run of the service (in memory)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from events.envelope import EventEnvelope
from events.learning import LEARNING_EVENTS
from tests.learning_samples import popo_learning, recorded_events, tracked_forum


@cache
def _recorded() -> dict[str, list[EventEnvelope]]:
    app = popo_learning()
    tracked_forum(app)
    by_type: dict[str, list[EventEnvelope]] = {}
    for event in recorded_events(app):
        by_type.setdefault(event.event_type, []).append(event)
    return by_type


def _example(event_type: str) -> Callable[[], EventEnvelope]:
    return lambda: _recorded()[event_type][0]


LEARNING_EXAMPLES: dict[tuple[str, int], dict[str, Callable[[], EventEnvelope]]] = {
    (model.model_fields["event_type"].default, 1): {"recorded": _example(model.model_fields["event_type"].default)}
    for model in LEARNING_EVENTS
}
