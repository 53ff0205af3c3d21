"""The notifications service's application: obligations from the other services' events, and their timers.

Upstream events (decisioning's, orchestration's and learning collation's logs or topics) are handled with
eventsourcing tracking records written in the same transaction as the events they cause, and recognised by
event id, so redelivery and republication at a new position are both no-ops. `tick` records the timers due on a day;
two instances ticking at once conflict on the case's aggregate version and only one records.

Other applications may share the notifications schema (each under its own name has its own tables), so
this one is named `notifications` and owns only `notifications_events` and `notifications_tracking`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.persistence import IntegrityError

from events.envelope import EventEnvelope
from lif.clock import Today, today_london
from lif.delivery.delivered import Delivered
from lif.delivery.failures import TransientFailure
from lif.delivery.tracking import HANDLE_ATTEMPTS, TrackingApplication
from services.notifications.domain import CaseObligations, case_obligations_id
from services.notifications.obligations import UPSTREAM_EVENTS, react
from services.notifications.state import CaseState
from services.notifications.timers import due_timers


class ConcurrentChange(TransientFailure):
    """Another writer kept changing the same case; the consumer retries later."""


class NotificationsApplication(TrackingApplication):
    name = "notifications"
    conflict_error = ConcurrentChange

    def __init__(self, env: Mapping[str, str] | None = None, *, today: Today = today_london) -> None:
        super().__init__(env=env)
        self.today = today

    # --- upstream events ------------------------------------------------------------------------------------

    def collect(self, delivered: Delivered, processing: ProcessingEvent[UUID], seen: dict[UUID, Any]) -> bool:
        event = delivered.event
        if not isinstance(event, UPSTREAM_EVENTS):
            return False
        aggregate_id = case_obligations_id(event.case_id)
        case = seen.get(aggregate_id) or self._case(event.case_id)
        if case is not None and case.has_seen(event.event_id):
            return False
        case = case or CaseObligations(event.case_id, event.lscb, event.correlation_id)
        reaction = react(event, case.state, self.today())
        case.see(str(event.event_id), reaction.facts)
        for recorded in reaction.events:
            case.record(recorded.model_dump(mode="json"))
        processing.collect_events(case)
        seen[aggregate_id] = case
        return True

    # --- timers ---------------------------------------------------------------------------------------------

    def tick_cases(self, case_ids: Iterable[UUID], today: date) -> list[EventEnvelope]:
        """Record the timers due on `today` for these cases; returns what this call recorded (blocking)."""
        fired: list[EventEnvelope] = []
        for case_id in case_ids:
            fired.extend(self._tick_case(case_id, today))
        if fired:
            self.notify_saved()
        return fired

    def _tick_case(self, case_id: UUID, today: date) -> list[EventEnvelope]:
        for _ in range(HANDLE_ATTEMPTS):
            case = self._case(case_id)
            if case is None:
                return []
            due = due_timers(case.state, today)
            if not due:
                return []
            for event in due:
                case.record(event.model_dump(mode="json"))
            try:
                self.save(case)
            except IntegrityError:
                continue  # another instance (or an upstream event) got there first: look again
            return due
        raise ConcurrentChange(f"case {case_id} kept changing during a tick; the next tick tries again")

    # --- reads ----------------------------------------------------------------------------------------------

    def case_state(self, case_id: UUID) -> CaseState | None:
        case = self._case(case_id)
        return None if case is None else case.state

    def _case(self, case_id: UUID) -> CaseObligations | None:
        try:
            return self.repository.get(case_obligations_id(case_id))  # type: ignore[return-value]
        except AggregateNotFoundError:
            return None
