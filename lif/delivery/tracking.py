"""The base of every service that consumes another's events: tracking records and in-process wake-ups.

Such a service records the position of each event it consumes in the same transaction as the events it
records in answer (eventsourcing's process recorder), so `position` is where its consumer resumes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, ProcessRecorder, Tracking

from lif.delivery.delivered import Delivered


class TrackingApplication(Application[UUID]):
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env=env)
        self.on_saved: list[Callable[[], object]] = []  # wake-ups for in-process relays and followers

    def notify_saved(self) -> None:
        """Tell in-process followers that new events are in the log (after a command's save)."""
        for callback in self.on_saved:
            callback()

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    @property
    def process_recorder(self) -> ProcessRecorder:
        assert isinstance(self.recorder, ProcessRecorder)
        return self.recorder

    def position(self, position_key: str) -> int:
        """The last position recorded for a stream (0 when none)."""
        return self.process_recorder.max_tracking_id(position_key) or 0

    def skip(self, position_key: str, position: int) -> None:
        """Record a position with no effects: the event there was parked, or was parked before (blocking)."""
        if self.process_recorder.has_tracking_id(position_key, position):
            return
        try:
            self._record(ProcessingEvent(Tracking(position_key, position)))
        except IntegrityError:
            pass  # a later position is recorded already


class _Processor(Protocol):
    def handle(self, delivered: Delivered) -> bool: ...

    def skip(self, position_key: str, position: int) -> None: ...


class TrackingConsumer:
    """A blocking tracking application as a parking consumer: run in a thread; `on_fresh` when it recorded."""

    def __init__(self, app: _Processor, on_fresh: Sequence[Callable[[], object]] = ()) -> None:
        self.app = app
        self.on_fresh = list(on_fresh)

    async def handle(self, delivered: Delivered) -> None:
        if await asyncio.to_thread(self.app.handle, delivered):
            for callback in self.on_fresh:
                callback()

    async def skip(self, position_key: str, position: int) -> None:
        await asyncio.to_thread(self.app.skip, position_key, position)
