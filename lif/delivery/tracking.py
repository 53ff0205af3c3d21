"""The base of every service that consumes another's events: tracking records and in-process wake-ups.

Such a service records the position of each event it consumes in the same transaction as the events it
records in answer (eventsourcing's process recorder), so `position` is where its consumer resumes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import ProcessRecorder


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
