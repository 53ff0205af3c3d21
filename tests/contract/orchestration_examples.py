"""Examples of every orchestration event, taken from the log of real runs of the service (in memory).

`test_event_schemas.py` merges them into its EXAMPLES, so each event is checked against its exported JSON
Schema and parsed back, like every other event of the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from events.envelope import EventEnvelope
from events.orchestration import ORCHESTRATION_EVENTS
from tests.orchestration_samples import not_initiated, popo_app, recorded_events, run_macr, run_scr


@cache
def _recorded() -> dict[str, list[EventEnvelope]]:
    """Events by type from an Intensive SCR, a Targeted SCR, a MACR and a process the Chair stopped."""
    by_type: dict[str, list[EventEnvelope]] = {}
    for scenario in ("intensive", "targeted", "macr", "not_initiated"):
        app = popo_app()
        if scenario == "macr":
            run_macr(app)
        elif scenario == "not_initiated":
            not_initiated(app)
        else:
            run_scr(app, scenario)
        for event in recorded_events(app):
            by_type.setdefault(event.event_type, []).append(event)
    return by_type


def _example(event_type: str, index: int = 0) -> Callable[[], EventEnvelope]:
    return lambda: _recorded()[event_type][index]


def _examples() -> dict[tuple[str, int], dict[str, Callable[[], EventEnvelope]]]:
    examples: dict[tuple[str, int], dict[str, Callable[[], EventEnvelope]]] = {}
    for model in ORCHESTRATION_EVENTS:
        event_type = model.model_fields["event_type"].default
        examples[(event_type, 1)] = {"first": _example(event_type), "last": _example(event_type, -1)}
    return examples


ORCHESTRATION_EXAMPLES = _examples()
