"""Poison events as an old log holds them: written straight into intake's event store, past every validation.

Events are immutable, so an event accepted before a rule existed stays in the log for ever; these let a
test put one there and check that each consumer parks it and goes on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from events.envelope import Actor
from events.incidents import IncidentNotification
from events.intake import ChildRef, IncidentReceived, IncidentReceivedPayload
from services.intake.application import IntakeApplication
from services.intake.domain import IncidentCase
from tests.samples import notification

NUL_SUBJECT = "subj-\u0000-7f3a"
"""PostgreSQL text and jsonb cannot hold NUL: the read model cannot store this child."""
FAR_FUTURE = "9999-12-30"
"""The deadline arithmetic overflows past year 9999: decisioning cannot recommend for this date."""
NUL_REASONS = ("UntranslatableCharacterError", "ValidationError")
"""Why the projections park the NUL (PostgreSQL refuses it; or the contract refuses it once it says so)."""
FAR_FUTURE_REASONS = ("OverflowError: date value out of range", "ValidationError")
"""Why decisioning parks the far-future dates (the arithmetic overflows; or the contract's date window)."""


def incident_envelope(lscb: str, **payload: Any) -> dict[str, Any]:
    """A well-formed IncidentReceived envelope for `lscb` (as a dict), with payload fields replaced raw."""
    doc = IncidentNotification.model_validate(notification(lscb=lscb, child__normally_resident_lscb=lscb))
    event_id, now = uuid4(), datetime.now(UTC)
    envelope = IncidentReceived(
        event_id=event_id,
        lscb=lscb,
        case_id=uuid4(),
        occurred_at=now,
        recorded_at=now,
        correlation_id=event_id,
        causation_id=None,
        actor=Actor(kind="system", id="legacy-import", role="integration"),
        payload=IncidentReceivedPayload(
            source_system="legacy-cms",
            source_reference_hash=uuid4().hex,
            notifying_agency=doc.notifying_agency,
            child=ChildRef(**doc.child.model_dump()),
            incident_date=doc.incident_date,
            notified_date=doc.notified_date,
            summary_ref=uuid4(),
            facts=doc.facts,
            content_hash=uuid4().hex,
            channel="http",
        ),
    ).model_dump(mode="json")
    for key, value in payload.items():
        if key.startswith("child__"):
            envelope["payload"]["child"][key.removeprefix("child__")] = value
        else:
            envelope["payload"][key] = value
    return envelope


def inject(intake: IntakeApplication, envelope: dict[str, Any]) -> None:
    """Record the envelope in intake's log as it is (blocking), and wake the in-process followers."""
    intake.save(IncidentCase(envelope=envelope))
    for callback in intake.on_saved:
        callback()
