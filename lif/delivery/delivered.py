"""One event as a consumer receives it, with the position that proves it was processed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from events.envelope import EventEnvelope


@dataclass(frozen=True)
class Delivered:
    """An event plus where it came from.

    `position_key` names an ordered stream (a Kafka topic-partition, or an upstream service's log) and
    `position` increases strictly within it, so a consumer can record both in the same transaction as
    its effects. The event id is recognised too: a relay may republish an event at a new position.
    """

    position_key: str
    position: int
    event: EventEnvelope


Handler = Callable[[Delivered], Awaitable[None]]
