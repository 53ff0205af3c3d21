"""Referral intake: accept incident notifications exactly once per source reference."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any, Literal
from uuid import UUID, uuid4, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from events.envelope import Actor
from events.incidents import IncidentNotification
from events.intake import ChildRef, IncidentReceived, IncidentReceivedPayload
from lif.boards import get_board
from lif.erasable import ErasableStore
from lif.pseudonym import content_hash, keyed_hash
from services.intake.domain import IncidentCase, case_id_for

LONDON = ZoneInfo("Europe/London")


class UnknownBoardError(ValueError):
    def __init__(self, lscb: str) -> None:
        super().__init__(f"unknown board {lscb!r}: not in the board registry")
        self.lscb = lscb


@dataclass(frozen=True)
class SubmitResult:
    """`created`: a new case; `duplicate`: same source, same content; `conflict`: same source, other content."""

    case_id: UUID
    status: Literal["created", "duplicate", "conflict"]


def received_event(
    key: bytes, notification: IncidentNotification, actor: Actor, channel: Literal["http", "kafka"]
) -> IncidentReceived:
    """The event intake records for a new notification, with ids derived from keyed hashes of it.

    The case id comes from the source, so a resubmission finds its case; the summary's id comes from the
    content, so two submissions racing with different summaries never share a row: the stored text is
    always the one of the notification whose event was recorded.
    """
    source_hash = keyed_hash(key, notification.lscb, notification.source.system, notification.source.reference)
    case_id = case_id_for(source_hash)
    digest = content_hash(key, notification.model_dump(mode="json"))
    event_id = uuid4()
    return IncidentReceived(
        event_id=event_id,
        lscb=notification.lscb,
        case_id=case_id,
        occurred_at=datetime.combine(notification.incident_date, time(0), LONDON).astimezone(UTC),
        recorded_at=datetime.now(UTC),
        correlation_id=event_id,
        causation_id=None,
        actor=actor,
        payload=IncidentReceivedPayload(
            source_system=notification.source.system,
            source_reference_hash=source_hash,
            notifying_agency=notification.notifying_agency,
            child=ChildRef(**notification.child.model_dump()),
            incident_date=notification.incident_date,
            notified_date=notification.notified_date,
            summary_ref=uuid5(case_id, f"summary:{digest}"),
            facts=notification.facts,
            content_hash=digest,
            channel=channel,
        ),
    )


class IntakeApplication(Application[UUID]):
    name = "intake"

    def __init__(self, env: dict[str, str], *, pseudonym_key: bytes, personal: ErasableStore) -> None:
        super().__init__(env=env)
        self.pseudonym_key = pseudonym_key
        self.personal = personal
        self.on_saved: list[Any] = []  # wake-up callbacks for in-process relays and followers

    def submit(
        self, notification: IncidentNotification, actor: Actor, channel: Literal["http", "kafka"]
    ) -> SubmitResult:
        """Open a case for a new notification; recognise resubmissions (blocking: call in a thread)."""
        if get_board(notification.lscb) is None:
            raise UnknownBoardError(notification.lscb)
        envelope = received_event(self.pseudonym_key, notification, actor, channel)
        case_id, digest = envelope.case_id, envelope.payload.content_hash
        existing = self._existing(case_id)
        if existing is not None:
            return SubmitResult(case_id, "duplicate" if existing.content_hash == digest else "conflict")

        summary_ref = envelope.payload.summary_ref
        self.personal.put(summary_ref, notification.lscb, case_id, "incident_summary", notification.summary)
        case = IncidentCase(envelope=envelope.model_dump(mode="json"))
        try:
            self.save(case)
        except IntegrityError:  # a concurrent submission of the same source won the race
            winner = self._existing(case_id)
            assert winner is not None
            if winner.content_hash == digest:
                return SubmitResult(case_id, "duplicate")
            self.personal.discard(summary_ref, notification.lscb)  # refused: keep no text of it
            return SubmitResult(case_id, "conflict")
        for callback in self.on_saved:
            callback()
        return SubmitResult(case_id, "created")

    def case_id_for_source(self, lscb: str, system: str, reference: str) -> UUID:
        """The case id a notification from this source has (or would have)."""
        return case_id_for(self._source_hash(lscb, system, reference))

    def _source_hash(self, lscb: str, system: str, reference: str) -> str:
        return keyed_hash(self.pseudonym_key, lscb, system, reference)

    def _existing(self, case_id: UUID) -> IncidentCase | None:
        try:
            return self.repository.get(case_id)  # type: ignore[return-value]
        except AggregateNotFoundError:
            return None
