"""eventsourcing's PostgreSQL recorders, writing more in the same transaction as the events.

* `ManyPositionsRecorder` (process recorder): a consumer of several streams (the partitions of a Kafka
  topic) applies what is waiting on all of them in one transaction. The library's recorder takes one
  tracking record per recording; this one also takes `trackings` (each a stream's last position). Every
  tracking record is checked as the library checks its own: a position not beyond the recorded one is an
  `IntegrityError`, and nothing of the recording is kept.
* `AlsoRecorder` (application recorder): `also`, a sequence of callables given the transaction's cursor,
  so a command's rows outside the event store (intake's erasable texts) commit with its events or not at
  all, in one commit instead of two; and which of many aggregates exist, in one query.

eventsourcing's factory is told to use them by `PROCESS_RECORDER_TOPIC` / `APPLICATION_RECORDER_TOPIC`
(lif.db.eventsourcing_env).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresProcessRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

PROCESS_RECORDER_TOPIC = "lif.recorders:ManyPositionsRecorder"
APPLICATION_RECORDER_TOPIC = "lif.recorders:AlsoRecorder"

InTransaction = Callable[[Cursor[DictRow]], None]
"""Writes of a command outside the event store, run on the cursor of the transaction that records it."""


class ManyPositionsRecorder(PostgresProcessRecorder):
    def _insert_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        trackings: Sequence[Tracking] = kwargs.get("trackings", ())
        for tracking in sorted(trackings, key=lambda t: t.application_name):  # one order: no deadlocks
            self._insert_tracking(curs, tracking)
        super()._insert_events(curs, stored_events, **kwargs)


class AlsoRecorder(PostgresApplicationRecorder):
    def originators_present(self, originator_ids: Sequence[UUID]) -> set[UUID]:
        """Which of these aggregates have events: one query for a batch, instead of one read each."""
        statement = SQL("SELECT DISTINCT originator_id FROM {0}.{1} WHERE originator_id = ANY(%s)").format(
            Identifier(self.datastore.schema), Identifier(self.events_table_name)
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (list(originator_ids),))
            return {row["originator_id"] for row in curs.fetchall()}

    def _insert_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        also: Sequence[InTransaction] = kwargs.get("also", ())
        for write in also:
            write(curs)
        super()._insert_events(curs, stored_events, **kwargs)
