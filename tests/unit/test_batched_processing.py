"""Decisioning and orchestration record a batch as one: the same events as one at a time, the last position.

On eventsourcing's in-memory store; the same recorder code path as PostgreSQL's (one `insert_events` with
one tracking record) is exercised by the embedded end-to-end tests.
"""

from __future__ import annotations

from collections import Counter

from events.envelope import EventEnvelope
from events.registry import parse_event
from lif.delivery.delivered import Delivered
from lif.delivery.log import read_log
from lif.delivery.tracking import TrackingApplication
from services.decisioning.application import DecisioningApplication
from tests.orchestration_samples import Case, popo_app
from tests.poison import incident_envelope

KEY = "log:upstream"


def _delivered(events: list[EventEnvelope]) -> list[Delivered]:
    return [Delivered(KEY, position, event) for position, event in enumerate(events, start=1)]


def _shape(app: TrackingApplication) -> Counter[tuple[str, str]]:
    """What the app published: (event type, case id) counted, ids and times aside."""
    return Counter((item.envelope["event_type"], item.envelope["case_id"]) for item in read_log(app, 0, 10_000))


def test_decisioning_answers_a_batch_as_it_answers_one_at_a_time_and_republication_is_a_no_op() -> None:
    incidents = [parse_event(incident_envelope(lscb)) for lscb in ("MAN", "BOL", "MAN")]
    batch = _delivered([*incidents, incidents[0], incidents[2]])  # two republished at new positions

    batched = DecisioningApplication(env={})
    assert batched.handle_batch(batch) is True
    assert batched.position(KEY) == 5
    single = DecisioningApplication(env={})
    for delivered in batch:
        single.handle(delivered)
    assert _shape(batched) == _shape(single)
    assert sum(_shape(batched).values()) == 3  # one recommendation per incident

    assert batched.handle_batch(batch) is False  # redelivered: nothing new
    assert sum(_shape(batched).values()) == 3


def test_orchestration_builds_a_batchs_second_event_of_a_case_on_its_first() -> None:
    case, other = Case(), Case(lscb="MAN")
    events: list[EventEnvelope] = [case.recommendation(), other.recommendation(), case.decision("initiate_scr")]
    batch = _delivered([*events, events[0]])

    batched = popo_app()
    batched.handle_batch(batch)
    assert batched.position(KEY) == 4
    single = popo_app()
    for delivered in batch:
        single.handle(delivered)
    assert _shape(batched) == _shape(single)
    assert any(case_id == str(case.case_id) for _, case_id in _shape(batched))
