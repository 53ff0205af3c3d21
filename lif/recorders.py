"""eventsourcing's PostgreSQL recorders, writing more in the same transaction as the events.

* `ManyPositionsRecorder` (process recorder): a consumer of several streams (the partitions of a Kafka
  topic) applies what is waiting on all of them in one transaction. The library's recorder takes one
  tracking record per recording; this one also takes `trackings` (each a stream's last position). Every
  tracking record is checked as the library checks its own: a position not beyond the recorded one is an
  `IntegrityError`, and nothing of the recording is kept.
* `AlsoRecorder` (application recorder): `also`, a sequence of callables given the transaction's cursor,
  so a command's rows outside the event store (intake's erasable texts) commit with its events or not at
  all, in one commit instead of two; and which of many aggregates exist, in one query.

Both record without psycopg's pipeline mode (`Unpipelined`).

eventsourcing's factory is told to use them by `PROCESS_RECORDER_TOPIC` / `APPLICATION_RECORDER_TOPIC`
(lif.db.eventsourcing_env).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent, Tracking
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresProcessRecorder
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

PROCESS_RECORDER_TOPIC = "lif.recorders:ManyPositionsRecorder"
APPLICATION_RECORDER_TOPIC = "lif.recorders:AlsoRecorder"

InTransaction = Callable[[Cursor[DictRow]], None]
"""Writes of a command outside the event store, run on the cursor of the transaction that records it."""


class Unpipelined(PostgresApplicationRecorder):
    """A recording's statements one after another in its transaction, not in pipeline mode.

    eventsourcing sends the lock, the tracking and other rows, the events (one statement, the batch as one
    array) and the NOTIFY as one pipeline. With a large batch (a few hundred recommendations, about a
    megabyte) the pipeline could wait for ever in `Pipeline.sync` while the server waited to read from
    it (`ClientRead` in pg_stat_activity), holding the table's lock: every writer of that log stopped
    behind it, and a burst of incidents over HTTP wedged decisioning for good. A few round trips per batch
    cost little next to that.
    """

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        notification_ids: Sequence[int] | None = None
        with self.datastore.get_connection() as conn, conn.transaction():
            with conn.cursor() as curs:
                self._insert_events(curs, stored_events, **kwargs)
            if stored_events:
                with conn.cursor() as curs:
                    self._insert_stored_events(curs, stored_events, **kwargs)
                    notification_ids = self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        return notification_ids


class ManyPositionsRecorder(Unpipelined, PostgresProcessRecorder):
    def _insert_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        trackings: Sequence[Tracking] = kwargs.get("trackings", ())
        for tracking in sorted(trackings, key=lambda t: t.application_name):  # one order: no deadlocks
            self._insert_tracking(curs, tracking)
        super()._insert_events(curs, stored_events, **kwargs)


class AlsoRecorder(Unpipelined):
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
