"""Examples of the outbox's notifications events, built by the outbox's own builders.

`test_event_schemas.py` merges them into its EXAMPLES, so each is checked against its exported JSON Schema
and parsed back, like every other event of the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

from events.envelope import EventEnvelope
from events.notifications import ReminderDue
from events.registry import parse_event
from services.notifications.directory import Target
from services.notifications.outbox.messages import delivered, failed, timer_messages
from tests.timer_events import timer_event

CASE = UUID("6f1b7d52-0c43-4e1a-9b8f-3d2e1c0b9a87")


def _reminder() -> EventEnvelope:
    return parse_event(timer_event(case_id=CASE))


def _queued(channel: str = "email", recipient_id: str = "rcp-0123456789abcdef") -> dict[str, Any]:
    reminder = _reminder()
    assert isinstance(reminder, ReminderDue)
    return timer_messages(reminder, [Target(recipient_id, channel)])[0]  # type: ignore[arg-type]


def _parsed(build: Callable[[], dict[str, Any]]) -> Callable[[], EventEnvelope]:
    return lambda: parse_event(build())


NOTIFICATION_EXAMPLES: dict[tuple[str, int], dict[str, Callable[[], EventEnvelope]]] = {
    ("notifications.notification_queued", 1): {
        "email": _parsed(_queued),
        "role-inbox": _parsed(lambda: _queued("inbox", "role:chair")),
    },
    ("notifications.notification_delivered", 1): {
        "smtp": _parsed(lambda: delivered(_queued(), 1, date(2015, 4, 3), {"message_id": "<x@lif.invalid>"})),
    },
    ("notifications.notification_failed", 1): {
        "retrying": _parsed(
            lambda: failed(_queued("webhook"), 1, "webhook answered 503", permanent=False, final=False)
        ),
        "permanent": _parsed(lambda: failed(_queued("webhook"), 2, "webhook answered 410", permanent=True, final=True)),
    },
}
