"""Read an eventsourcing application's notification log as contract events.

Each service's stored domain events carry their public envelope (`envelope`, a JSON-ready dict), so
the log *is* the outbox: nothing is translated at publish time that could differ between two relays.

A log has several readers in one process (in the embedded runtime, up to four followers and a relay read
each service's log). A stored event never changes once it has its notification id, so each log keeps the
last `DECODED_CACHE_SIZE` notifications it decoded, and each contract event's parsed model: the readers
still ask the database which notifications there are, but decode and validate each one once between them.

Internal notifications (decisioning's review-stage notes, orchestration's case watches) carry no contract
event, and a consumer records a position only with an event it was given, so its readers would read a run
of them again on every look until the next contract event. Each log therefore also remembers the runs of
internal notifications it has read, and a reader whose position falls in one goes on from its end: those
notifications are final once read (eventsourcing's table lock keeps notification ids in commit order), so
skipping them is reading them.

When the application stores its state in PostgreSQL as eventsourcing's plain JSON (`_plain_json`: neither
compressed nor enciphered), a page is read as notification id and state only, and each contract event's
envelope is taken out of its state with one orjson parse: the envelope is a JSON-ready dict, stored as it is,
so this is what eventsourcing's object-hook decode and domain event would give, at a fraction of the cost.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.rows import tuple_row

from events.envelope import EventEnvelope
from events.registry import parse_event

DECODED_CACHE_SIZE = 1000
"""Decoded notifications kept per log: a few pages of every reader, so readers that keep up decode once."""


@dataclass(frozen=True)
class LoggedEvent:
    notification_id: int
    case_id: UUID
    envelope: dict[str, Any]
    _parsed: list[EventEnvelope | None] = field(default_factory=list, compare=False, repr=False)

    def parsed(self) -> EventEnvelope | None:
        """The envelope as its contract model, parsed once for every reader; None when it does not parse
        (the reader's own `parse_event` then raises, so the consumer parks or refuses it as before)."""
        if not self._parsed:
            try:
                event: EventEnvelope | None = parse_event(self.envelope)
            except Exception:
                event = None
            self._parsed.append(event)
        return self._parsed[0]


INTERNAL_RUNS = 64
"""Runs of internal notifications remembered per log (the newest; an older one is only read again)."""


class _Decoded:
    """One log's recently decoded notifications by id (None: not a contract event), and the runs of internal
    notifications read so far: (after, last) when every notification id in after+1..last holds no event."""

    def __init__(self) -> None:
        self.items: dict[int, LoggedEvent | None] = {}
        self.runs: list[tuple[int, int]] = []
        self.lock = threading.Lock()

    def past_internal(self, after: int) -> int:
        """Where a reader at `after` goes on from: the end of a run of internal notifications it is in."""
        with self.lock:
            for start, end in self.runs:
                if start <= after < end:
                    return end
        return after

    def internal(self, start: int, end: int) -> None:
        """Notification ids start+1..end hold no contract event."""
        with self.lock:
            for index, (lo, hi) in enumerate(self.runs):
                if lo <= start <= hi:  # it goes on from this run (or lies within it)
                    self.runs[index] = (lo, max(hi, end))
                    return
            self.runs.append((start, end))
            del self.runs[:-INTERNAL_RUNS]

    def keep(self, decoded: list[tuple[int, LoggedEvent | None]]) -> None:
        with self.lock:
            self.items.update(decoded)
            excess = len(self.items) - DECODED_CACHE_SIZE
            if excess > 0:  # the oldest put in first (the readers go forward)
                for notification_id in list(itertools.islice(self.items, excess)):
                    del self.items[notification_id]


_DECODED: weakref.WeakKeyDictionary[Application, _Decoded] = weakref.WeakKeyDictionary()
_DECODED_LOCK = threading.Lock()


def _decoded(app: Application) -> _Decoded:
    with _DECODED_LOCK:
        found = _DECODED.get(app)
        if found is None:
            found = _DECODED[app] = _Decoded()
        return found


def read_log(app: Application, after: int, limit: int = 500) -> list[LoggedEvent]:
    """Events with notification id greater than `after`, oldest first (blocking: call in a thread)."""
    return read_log_page(app, after, limit)[0]


def read_log_page(app: Application, after: int, limit: int = 500) -> tuple[list[LoggedEvent], int]:
    """The events among the next `limit` notifications after `after`, and the last notification id read.

    Internal notifications (orchestration's case watches) carry no envelope, so a page may hold no event
    and still move a reader on: a reader that went by the events alone would read the same page for ever.
    """
    cache = _decoded(app)
    after = cache.past_internal(after)
    plain = _plain_json(app)
    if plain:
        rows = _select_states(app, after, limit)
    else:
        notifications = app.recorder.select_notifications(start=after + 1, limit=limit)  # type: ignore[attr-defined]
        rows = [(notification.id, notification) for notification in notifications]
    result = []
    fresh: list[tuple[int, LoggedEvent | None]] = []
    runs: list[tuple[int, int]] = []  # the runs of internal notifications of this page
    run_start = previous = after
    for notification_id, stored in rows:
        if notification_id in cache.items:
            logged = cache.items.get(notification_id)
        else:
            envelope = _envelope_in(stored) if plain else getattr(app.mapper.to_domain_event(stored), "envelope", None)
            # None: not a contract event (a case watch, a snapshot)
            logged = None if envelope is None else LoggedEvent(notification_id, UUID(envelope["case_id"]), envelope)
            fresh.append((notification_id, logged))
        if logged is not None:
            result.append(logged)
            if previous > run_start:
                runs.append((run_start, previous))
            run_start = notification_id
        previous = notification_id
    if previous > run_start:
        runs.append((run_start, previous))
    if fresh:
        cache.keep(fresh)
    for start, end in runs:
        cache.internal(start, end)
    return result, previous


def _plain_json(app: Application) -> bool:
    """Whether `app` stores each event's state in PostgreSQL as eventsourcing's JSON, neither compressed nor
    enciphered."""
    mapper = app.mapper
    plain = mapper.cipher is None and mapper.compressor is None and type(mapper.transcoder) is JSONTranscoder
    return plain and isinstance(app.recorder, PostgresApplicationRecorder)


def log_table(app: Application) -> str | None:
    """The quoted table of `app`'s log when it holds plain JSON states in PostgreSQL (`_plain_json`), else None."""
    if not _plain_json(app):
        return None
    recorder: Any = app.recorder
    return f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'


DATABASE_IDENTITY = "SELECT current_database(), pg_postmaster_start_time()::text"
"""The database and its server's start time: two connections that give the same one share the database."""


def log_database(app: Application) -> tuple[str, str]:
    """`DATABASE_IDENTITY` of `app`'s log."""
    recorder: Any = app.recorder
    with recorder.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(DATABASE_IDENTITY)
        row = cursor.fetchone()
        assert row is not None
        return str(row[0]), str(row[1])


def _select_states(app: Application, after: int, limit: int) -> list[tuple[int, Any]]:
    """(notification id, state) of the next `limit` notifications after `after`, in order."""
    recorder: Any = app.recorder
    table = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
    with recorder.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(
            f"SELECT notification_id, state FROM {table} WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
            (after, limit),
            prepare=True,
        )
        return cursor.fetchall()


_ENVELOPE = b'"envelope"'


def _envelope_in(state: bytes) -> dict[str, Any] | None:
    """The envelope a plain JSON state holds under its `envelope` key (None: not a contract event)."""
    if _ENVELOPE not in state:
        return None
    envelope = orjson.loads(state).get("envelope")
    return envelope if isinstance(envelope, dict) else None


def log_head(app: Application) -> int:
    """The newest notification id (0 for an empty log)."""
    return app.recorder.max_notification_id() or 0  # type: ignore[attr-defined]
