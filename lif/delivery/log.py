"""Read an eventsourcing application's notification log as contract events.

Each service's stored domain events carry their public envelope (`envelope`, a JSON-ready dict), so
the log *is* the outbox: nothing is translated at publish time that could differ between two relays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.rows import tuple_row


@dataclass(frozen=True)
class LoggedEvent:
    notification_id: int
    case_id: UUID
    envelope: dict[str, Any]


def read_log(app: Application, after: int, limit: int = 500) -> list[LoggedEvent]:
    """Events with notification id greater than `after`, oldest first (blocking: call in a thread)."""
    return read_log_page(app, after, limit)[0]


def read_log_page(app: Application, after: int, limit: int = 500) -> tuple[list[LoggedEvent], int]:
    """The events among the next `limit` notifications after `after`, and the last notification id read.

    Internal notifications (orchestration's case watches) carry no envelope, so a page may hold no event
    and still move a reader on: a reader that went by the events alone would read the same page for ever.
    When the application stores its state as plain JSON (`_plain_json`), only the id and state of each
    notification are read and each envelope is taken from the state with one C-level JSON parse; otherwise
    through eventsourcing's mapper, as the application itself reads its events.
    """
    if _plain_json(app):
        return _read_plain_page(app, after, limit)
    notifications = app.recorder.select_notifications(start=after + 1, limit=limit)  # type: ignore[attr-defined]
    result = []
    for notification in notifications:
        envelope = getattr(app.mapper.to_domain_event(notification), "envelope", None)
        if envelope is None:
            continue  # not a contract event (a case watch, a snapshot)
        result.append(LoggedEvent(notification.id, UUID(envelope["case_id"]), envelope))
    return result, (notifications[-1].id if notifications else after)


def _plain_json(app: Application) -> bool:
    """Whether `app` stores each event's state in PostgreSQL as eventsourcing's JSON, neither compressed nor
    enciphered."""
    mapper = app.mapper
    plain = mapper.cipher is None and mapper.compressor is None and type(mapper.transcoder) is JSONTranscoder
    return plain and isinstance(app.recorder, PostgresApplicationRecorder)


_ENVELOPE = b'"envelope"'


def _read_plain_page(app: Application, after: int, limit: int) -> tuple[list[LoggedEvent], int]:
    """`read_log_page` for an application whose states are plain JSON: a contract event's envelope is a
    JSON-ready dict, stored as it is under the state's `envelope` key (no custom type inside to decode)."""
    recorder: Any = app.recorder
    table = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
    with recorder.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(
            f"SELECT notification_id, state FROM {table} WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
            (after, limit),
            prepare=True,
        )
        rows = cursor.fetchall()
    result = []
    for notification_id, state in rows:
        if _ENVELOPE not in state:
            continue  # not a contract event (a case watch, a snapshot)
        envelope = orjson.loads(state).get("envelope")
        if isinstance(envelope, dict):
            result.append(LoggedEvent(notification_id, UUID(envelope["case_id"]), envelope))
    return result, (rows[-1][0] if rows else after)


def log_head(app: Application) -> int:
    """The newest notification id (0 for an empty log)."""
    return app.recorder.max_notification_id() or 0  # type: ignore[attr-defined]
