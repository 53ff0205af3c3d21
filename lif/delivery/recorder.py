"""eventsourcing's PostgreSQL process recorder, recording the positions of several streams at once.

A consumer of several streams (the partitions of a Kafka topic) applies what is waiting on all of them in
one transaction: the library's recorder takes one tracking record per recording, this one also takes
`trackings` (each a stream's last position), in the same transaction as the events. Every tracking
record is checked as the library checks its own: a position not beyond the recorded one is an
`IntegrityError`, and nothing of the recording is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.postgres import PostgresProcessRecorder
from psycopg import Cursor
from psycopg.rows import DictRow

TOPIC = "lif.delivery.recorder:ManyPositionsRecorder"
"""How eventsourcing's factory is told to use it (`PROCESS_RECORDER_TOPIC`)."""


class ManyPositionsRecorder(PostgresProcessRecorder):
    def _insert_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        trackings: Sequence[Tracking] = kwargs.get("trackings", ())
        for tracking in sorted(trackings, key=lambda t: t.application_name):  # one order: no deadlocks
            self._insert_tracking(curs, tracking)
        super()._insert_events(curs, stored_events, **kwargs)
