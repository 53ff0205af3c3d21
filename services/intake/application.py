"""Referral intake: accept incident notifications exactly once per source reference."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any, Literal, NamedTuple
from uuid import UUID, uuid4, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from events.envelope import Actor
from events.incidents import IncidentNotification
from events.intake import ChildRef, IncidentReceived, IncidentReceivedPayload
from lif.boards import get_board
from lif.erasable import ErasableStore, Text
from lif.pseudonym import content_hash, keyed_hash
from lif.recorders import AlsoRecorder
from services.intake.domain import IncidentCase, case_id_for

LONDON = ZoneInfo("Europe/London")


class UnknownBoardError(ValueError):
    def __init__(self, lscb: str) -> None:
        super().__init__(f"unknown board {lscb!r}: not in the board registry")
        self.lscb = lscb


class Submission(NamedTuple):
    notification: IncidentNotification
    actor: Actor
    channel: Literal["http", "kafka"]


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
        result = self.submit_many([Submission(notification, actor, channel)])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def submit_many(self, submissions: Sequence[Submission]) -> list[SubmitResult | Exception]:
        """`submit` of each, the new cases recorded in ONE transaction with their summaries (blocking).

        The answer of each submission is what `submit` would have given it on its own, in order: a
        second submission of a source earlier in the same call is its duplicate (or conflict). An
        exception is returned in its submission's place (an unknown board). When another writer opened
        one of the cases first, nothing of the transaction is kept and each is submitted on its own again.
        """
        results: list[SubmitResult | Exception | None] = [None] * len(submissions)
        envelopes: dict[int, IncidentReceived] = {}
        for index, (notification, actor, channel) in enumerate(submissions):
            if get_board(notification.lscb) is None:
                results[index] = UnknownBoardError(notification.lscb)
            else:
                envelopes[index] = received_event(self.pseudonym_key, notification, actor, channel)
        present = self._present([envelope.case_id for envelope in envelopes.values()])
        fresh: dict[UUID, tuple[int, str, IncidentCase, Text]] = {}
        for index, envelope in envelopes.items():
            notification = submissions[index].notification
            case_id, digest = envelope.case_id, envelope.payload.content_hash
            earlier = fresh.get(case_id)
            existing = self._existing(case_id) if earlier is None and case_id in present else None
            if earlier is not None or existing is not None:
                known = earlier[1] if earlier is not None else existing.content_hash  # type: ignore[union-attr]
                results[index] = SubmitResult(case_id, "duplicate" if known == digest else "conflict")
                continue
            summary_ref = envelope.payload.summary_ref
            summary = Text(summary_ref, notification.lscb, case_id, "incident_summary", notification.summary)
            fresh[case_id] = (index, digest, IncidentCase(envelope=envelope.model_dump(mode="json")), summary)
        if fresh:
            try:
                self._record_cases([case for _, _, case, _ in fresh.values()], [text for *_, text in fresh.values()])
            except IntegrityError:  # a concurrent submission of one of these sources won the race
                if len(submissions) > 1:
                    return [self.submit_many([submission])[0] for submission in submissions]
                ((case_id, (_, digest, _, _)),) = fresh.items()
                return [self._lost_race(case_id, digest)]
            for case_id, (index, *_) in fresh.items():
                results[index] = SubmitResult(case_id, "created")
            for callback in self.on_saved:
                callback()
        return [result for result in results if result is not None]

    def _present(self, case_ids: list[UUID]) -> set[UUID]:
        """Which of these cases exist, in one query where the recorder can (PostgreSQL)."""
        if isinstance(self.recorder, AlsoRecorder):
            return self.recorder.originators_present(case_ids)
        return {case_id for case_id in case_ids if self._existing(case_id) is not None}

    def _lost_race(self, case_id: UUID, digest: str) -> SubmitResult:
        """The answer to a submission whose case another writer opened first (nothing of it was kept)."""
        winner = self._existing(case_id)
        assert winner is not None
        return SubmitResult(case_id, "duplicate" if winner.content_hash == digest else "conflict")

    def _record_cases(self, cases: list[IncidentCase], summaries: list[Text]) -> None:
        """The cases' events and their summaries, in one transaction where the recorder can (PostgreSQL)."""
        if isinstance(self.recorder, AlsoRecorder):
            self.save(*cases, also=[self.personal.put_with(summaries)])
            return
        for text in summaries:  # an in-memory event store: the texts first, as a failed save leaves them
            self.personal.put(text.detail_id, text.lscb, text.case_id, text.kind, text.body)
        self.save(*cases)

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
