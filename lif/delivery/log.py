"""Read an eventsourcing application's notification log as contract events.

Each service's stored domain events carry their public envelope (`envelope`, a JSON-ready dict), so
the log *is* the outbox: nothing is translated at publish time that could differ between two relays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import Application


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
    result = []
    for notification in notifications:
        domain_event = app.mapper.to_domain_event(notification)
        envelope = getattr(domain_event, "envelope", None)
        if envelope is None:
            continue  # not a contract event (a case watch, a snapshot)
        result.append(LoggedEvent(notification.id, UUID(envelope["case_id"]), envelope))
    return result, (notifications[-1].id if notifications else after)


def log_head(app: Application) -> int:
    """The newest notification id (0 for an empty log)."""
    return app.recorder.max_notification_id() or 0  # type: ignore[attr-defined]
