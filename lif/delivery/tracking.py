"""The base of every service that consumes another's events: tracking records and in-process wake-ups.

Such a service records the position of each event it consumes in the same transaction as the events it
records in answer (eventsourcing's process recorder), so `position` is where its consumer resumes. What
is waiting goes in one recording (`handle_batch`): the events many deliveries cause, with the last position
of each stream.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, ProcessRecorder, Tracking

from lif.delivery.delivered import Delivered
from lif.delivery.failures import TransientFailure
from lif.recorders import ManyPositionsRecorder

HANDLE_ATTEMPTS = 5
"""How often one delivered event is handled again on the new state before its consumer retries it later."""


class StillConflicting(TransientFailure):
    """Other writers kept changing what a delivered event needs: transient, so the consumer retries it."""


class TrackingApplication(Application[UUID]):
    conflict_error: type[Exception] = StillConflicting
    """What `handle` raises after HANDLE_ATTEMPTS conflicts; it must be a TransientFailure (never parked)."""

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

    def collect(self, delivered: Delivered, processing: ProcessingEvent[UUID], seen: dict[UUID, Any]) -> bool:
        """Collect into `processing` what one delivered event causes; True when that is anything fresh.

        `seen` holds the aggregates this batch already changed, by aggregate id: take them from there rather
        than from the repository, so a batch's second event of a case builds on its first.
        """
        raise NotImplementedError(f"{type(self).__name__} has no batch path")

    def handle(self, delivered: Delivered) -> bool:
        """Process one delivered event in one recording with its position; False when it had already been
        processed or changed nothing (blocking).

        A conflict means another writer got there first: a worker that recorded this position (then this is
        a no-op) or a command on the same aggregate (then the event is handled again on the new state). Only
        after repeated conflicts does it raise `conflict_error`, so the consumer retries later without losing it.
        """
        for _ in range(HANDLE_ATTEMPTS):
            if self.process_recorder.has_tracking_id(delivered.position_key, delivered.position):
                return False
            processing: ProcessingEvent[UUID] = ProcessingEvent(Tracking(delivered.position_key, delivered.position))
            fresh = self.collect(delivered, processing, {})
            try:
                self._record(processing)
            except IntegrityError:
                continue
            if fresh:
                self.notify_saved()
            return fresh
        raise self.conflict_error(f"{delivered.position_key}@{delivered.position} kept conflicting; retry later")

    def handle_batch(self, batch: Sequence[Delivered]) -> bool:
        """Process many events in ONE recording with the last position of each stream among them (blocking).

        The positions recorded before are skipped, and each event goes through `collect` as `handle` would
        take it, so the effect is that of `handle` on each in turn. Raises `BatchConflict` when another
        writer recorded first, or when the events span several streams and the recorder records one
        position per recording (eventsourcing's in-memory one): nothing of the batch is recorded then.
        """
        done = {key: self.position(key) for key in {delivered.position_key for delivered in batch}}
        todo = [delivered for delivered in batch if delivered.position > done[delivered.position_key]]
        if not todo:
            return False
        last: dict[str, int] = {}
        for delivered in todo:
            last[delivered.position_key] = max(last.get(delivered.position_key, 0), delivered.position)
        trackings = [Tracking(key, position) for key, position in sorted(last.items())]
        processing: ProcessingEvent[UUID] = ProcessingEvent(trackings[0] if len(trackings) == 1 else None)
        if len(trackings) > 1:
            if not isinstance(self.recorder, ManyPositionsRecorder):
                raise BatchConflict("a batch spans several streams")
            processing.saved_kwargs["trackings"] = trackings
        seen: dict[UUID, Any] = {}
        fresh = False
        for delivered in todo:
            fresh = self.collect(delivered, processing, seen) or fresh
        try:
            self._record(processing)
        except IntegrityError as exc:
            raise BatchConflict(str(exc)) from exc
        if fresh:
            self.notify_saved()
        return fresh


class BatchConflict(Exception):
    """A batch cannot be recorded as one: its events are to be handled one at a time."""


class _Processor(Protocol):
    def handle(self, delivered: Delivered) -> bool: ...

    def handle_batch(self, batch: Sequence[Delivered]) -> bool: ...

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

    async def handle_batch(self, batch: Sequence[Delivered]) -> None:
        if await asyncio.to_thread(self._handle_batch, batch):
            for callback in self.on_fresh:
                callback()

    def _handle_batch(self, batch: Sequence[Delivered]) -> bool:
        """The batch as one recording; when it cannot be, each run of one stream's events as one, and a run
        that conflicts one event at a time."""
        try:
            return self.app.handle_batch(batch)
        except BatchConflict:
            pass
        fresh = False
        for _, run in itertools.groupby(batch, key=lambda delivered: delivered.position_key):
            events = list(run)
            try:
                fresh = self.app.handle_batch(events) or fresh
            except BatchConflict:
                for delivered in events:
                    fresh = self.app.handle(delivered) or fresh
        return fresh

    async def skip(self, position_key: str, position: int) -> None:
        await asyncio.to_thread(self.app.skip, position_key, position)
