"""Read an eventsourcing application's notification log as contract events.

Each service's stored domain events carry their public envelope (`envelope`, a JSON-ready dict), so
the log *is* the outbox: nothing is translated at publish time that could differ between two relays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, StoredEvent


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
    """
    notifications = app.recorder.select_notifications(start=after + 1, limit=limit)  # type: ignore[attr-defined]
    decode = envelope_decoder(app)
    result = []
    for notification in notifications:
        envelope = decode(notification)
        if envelope is None:
            continue  # not a contract event (a case watch, a snapshot)
        result.append(LoggedEvent(notification.id, UUID(envelope["case_id"]), envelope))
    return result, (notifications[-1].id if notifications else after)


def envelope_decoder(app: Application) -> Callable[[StoredEvent], dict[str, Any] | None]:
    """A function from a stored event of `app` to the envelope it carries (None: not a contract event).

    The envelope is a JSON-ready dict, stored as it is in the event's state; when the application stores its
    state as plain JSON (no cipher, no compressor) it is read with one C-level parse instead of eventsourcing's
    object-hook decode of every nested object and the domain event built around it.
    """
    mapper = app.mapper
    if mapper.cipher is None and mapper.compressor is None and type(mapper.transcoder) is JSONTranscoder:

        def fast(stored: StoredEvent) -> dict[str, Any] | None:
            state = stored.state
            if b'"envelope"' not in state:
                return None
            envelope = orjson.loads(state).get("envelope")
            return envelope if isinstance(envelope, dict) else None

        return fast

    def slow(stored: StoredEvent) -> dict[str, Any] | None:
        return getattr(mapper.to_domain_event(stored), "envelope", None)

    return slow


def log_head(app: Application) -> int:
    """The newest notification id (0 for an empty log)."""
    return app.recorder.max_notification_id() or 0  # type: ignore[attr-defined]
