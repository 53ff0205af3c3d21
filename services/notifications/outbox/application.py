"""The outbox application: the notifications service's second event-sourced application (its own tables).

It follows the timer events (`reminder_due`, `obligation_breached`) through the shared delivery plumbing,
with tracking records written in the same transaction as the messages they cause, and turns each into
one queued message per recipient the board's directory names for the step's roles. Commands (sending a
National Panel notice) queue messages the same way. Nothing here sends: the dispatcher does, from this
application's log, and records each outcome here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.persistence import IntegrityError, Tracking

from events.notifications import ObligationBreached, ReminderDue
from lif.delivery.delivered import Delivered
from lif.delivery.tracking import TrackingApplication
from services.notifications.directory import Target
from services.notifications.outbox.domain import FanOut, OutboundNotification
from services.notifications.outbox.messages import timer_messages


class Targets(Protocol):
    """Who answers for some roles on a board (the recipients directory)."""

    def targets_for_roles(self, lscb: str, roles: list[str]) -> list[Target]: ...


class OutboxApplication(TrackingApplication):
    name = "notifications_outbox"

    def __init__(self, env: Mapping[str, str] | None = None, *, targets: Targets) -> None:
        super().__init__(env=env)
        self.targets = targets

    # --- the timer events ----------------------------------------------------------------------------------

    def collect(self, delivered: Delivered, processing: ProcessingEvent[UUID], seen: dict[UUID, Any]) -> bool:
        event = delivered.event
        if not isinstance(event, ReminderDue | ObligationBreached):
            return False
        source = str(event.event_id)
        fan_id = FanOut.id_for(source)
        if fan_id in seen or self._get(fan_id) is not None:
            return False
        targets = self.targets.targets_for_roles(event.lscb, list(event.payload.step.notify_roles))
        envelopes = timer_messages(event, targets)
        fresh = [OutboundNotification(envelope) for envelope in envelopes if self._get(_id(envelope)) is None]
        fan = FanOut(source, [str(_id(envelope)) for envelope in envelopes])
        processing.collect_events(fan, *fresh)
        seen[fan_id] = fan
        return bool(fresh)

    # --- commands ------------------------------------------------------------------------------------------

    def queue(self, source: str, envelopes: list[dict[str, Any]]) -> tuple[list[OutboundNotification], bool]:
        """Queue messages for a command's cause, once: (the messages, True when recorded now)."""
        existing = self._get(FanOut.id_for(source))
        if isinstance(existing, FanOut):
            return [m for m in (self.message(UUID(i)) for i in existing.message_ids) if m is not None], False
        messages = [OutboundNotification(envelope) for envelope in envelopes]
        try:
            self.save(FanOut(source, [str(m.id) for m in messages]), *messages)
        except IntegrityError:  # a concurrent request queued them first
            return self.queue(source, envelopes)
        self.notify_saved()
        return messages, True

    def record_outcome(self, message: OutboundNotification, tracking: tuple[str, int] | None) -> None:
        """Save an outcome the dispatcher collected on `message`, with the dispatcher's position when given."""
        if tracking is None:
            self.save(message)
        else:
            processing: ProcessingEvent[UUID] = ProcessingEvent(Tracking(*tracking))
            processing.collect_events(message)
            self._record(processing)
        self.notify_saved()

    # --- reads ---------------------------------------------------------------------------------------------

    def message(self, message_id: UUID) -> OutboundNotification | None:
        found = self._get(message_id)
        return found if isinstance(found, OutboundNotification) else None

    def messages_of(self, source: str) -> list[OutboundNotification]:
        fan = self._get(FanOut.id_for(source))
        if not isinstance(fan, FanOut):
            return []
        return [m for m in (self.message(UUID(i)) for i in fan.message_ids) if m is not None]

    def _get(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None


def _id(envelope: dict[str, Any]) -> UUID:
    return UUID(envelope["payload"]["message_id"])
