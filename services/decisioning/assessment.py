"""Apply the rule engine to an accepted incident as the log records it (no free text needed)."""

from __future__ import annotations

from events.decisioning import Recommendation
from events.incidents import Child, IncidentNotification, Source
from events.intake import IncidentReceived
from services.decisioning.rules import RulePack, assess


def assess_received(
    incident: IncidentReceived, pack: RulePack | None = None, learning_already_known: list[str] | None = None
) -> Recommendation:
    """The recommendation for an IncidentReceived event.

    The event holds every fact the rules read; the summary and the source reference stay in intake's
    erasable store, so they are given as placeholders the rules never look at.
    """
    payload = incident.payload
    notification = IncidentNotification.model_construct(
        lscb=incident.lscb,
        source=Source.model_construct(system=payload.source_system, reference=payload.source_reference_hash),
        notifying_agency=payload.notifying_agency,
        child=Child.model_construct(**payload.child.model_dump()),
        incident_date=payload.incident_date,
        notified_date=payload.notified_date,
        summary="",
        facts=payload.facts,
    )
    return assess(notification, pack, learning_already_known=learning_already_known)
