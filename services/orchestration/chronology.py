"""SPE chronologies (rules.md section 5): entries per agency, their versions, and the merged timeline.

Who may submit for an agency (kept simple on purpose): the board's business manager; a lead reviewer of
the review; or a member of either group whose agency is that agency (the agency's own author). Corrections
follow the same rule and make a new version; every version stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict

from events.decisioning import DocumentRef
from events.envelope import Actor
from events.orchestration import (
    Agency,
    ChronologyEntryCorrected,
    ChronologyEntryPayload,
    ChronologyEntrySubmitted,
    LearningFlags,
    Principles,
    Significance,
)
from services.orchestration.commands import case_of
from services.orchestration.envelopes import new_event
from services.orchestration.errors import NotFound, NotPermitted
from services.orchestration.guards import require_not_future, require_open
from services.orchestration.state import EntryVersion, ReviewState
from services.orchestration.texts import Texts


def is_significant(significance: Significance) -> bool:
    """One 'yes' to the six questions makes a Significant Practice Event."""
    return any(significance.model_dump().values())


@dataclass(frozen=True)
class EntryInput:
    """An entry with its texts already in the erasable store."""

    event_date: date
    description: DocumentRef
    principles: Principles
    learning_flags: LearningFlags
    significance: Significance


def may_submit(state: ReviewState, actor: Actor, agency: Agency) -> bool:
    if actor.role == "business_manager":
        return True
    for (_, member_id), member in state.members.items():
        if member_id == actor.id and (member.added.role == "lead_reviewer" or member.added.agency == agency):
            return True
    return False


def _check_submitter(state: ReviewState, actor: Actor, agency: Agency) -> None:
    if not may_submit(state, actor, agency):
        raise NotPermitted(
            f"only the business manager, a lead reviewer or a member for {agency} may submit its chronology"
        )


def _payload(
    entry_id: UUID, agency: Agency, version: int, entry: EntryInput, reason: DocumentRef | None
) -> ChronologyEntryPayload:
    return ChronologyEntryPayload(
        entry_id=entry_id,
        agency=agency,
        version=version,
        event_date=entry.event_date,
        description=entry.description,
        principles=entry.principles,
        learning_flags=entry.learning_flags,
        significance=entry.significance,
        significant=is_significant(entry.significance),
        correction_reason=reason,
    )


def submit_entry(
    state: ReviewState, actor: Actor, agency: Agency, entry: EntryInput, today: date
) -> ChronologyEntrySubmitted:
    require_open(state)
    _check_submitter(state, actor, agency)
    require_not_future(entry.event_date, today, "event_date")
    payload = _payload(uuid4(), agency, 1, entry, None)
    return new_event(ChronologyEntrySubmitted, case_of(state), payload, actor=actor, on=entry.event_date)


def correct_entry(
    state: ReviewState,
    actor: Actor,
    agency: Agency,
    entry_id: UUID,
    entry: EntryInput,
    reason: DocumentRef | None,
    today: date,
) -> ChronologyEntryCorrected:
    require_open(state)
    versions = state.chronology.get(entry_id)
    if versions is None or versions[0].payload.agency != agency:
        raise NotFound(f"no chronology entry {entry_id} from {agency}")
    _check_submitter(state, actor, agency)
    require_not_future(entry.event_date, today, "event_date")
    payload = _payload(entry_id, agency, len(versions) + 1, entry, reason)
    return new_event(ChronologyEntryCorrected, case_of(state), payload, actor=actor, on=entry.event_date)


# --- views --------------------------------------------------------------------------------------------------------


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class PrinciplesView(_View):
    risk: str | None
    response: str | None
    partnership: str | None
    learning: str | None


class TimelineEntry(_View):
    """One version of an entry with its texts (None where erased)."""

    entry_id: UUID
    agency: Agency
    version: int
    event_date: date
    description: str | None
    principles: PrinciplesView
    learning_flags: LearningFlags
    significance: Significance
    significant: bool
    flag: str | None = None
    correction_reason: str | None
    recorded_by: str
    recorded_at: datetime


def entry_view(state: ReviewState, version: EntryVersion, texts: Texts) -> TimelineEntry:
    p = version.payload
    read = lambda ref: texts.read(state.lscb, ref)  # noqa: E731 - a local shorthand
    return TimelineEntry(
        entry_id=p.entry_id,
        agency=p.agency,
        version=p.version,
        event_date=p.event_date,
        description=read(p.description),
        principles=PrinciplesView(
            risk=read(p.principles.risk),
            response=read(p.principles.response),
            partnership=read(p.principles.partnership),
            learning=read(p.principles.learning),
        ),
        learning_flags=p.learning_flags,
        significance=p.significance,
        significant=p.significant,
        flag=None if p.significant else "not_significant",
        correction_reason=read(p.correction_reason),
        recorded_by=version.actor.id,
        recorded_at=version.recorded_at,
    )


def merged_timeline(state: ReviewState, texts: Texts) -> list[TimelineEntry]:
    """The current version of every entry of every agency, by date, then agency, then submission order."""
    order = {entry_id: n for n, entry_id in enumerate(state.chronology)}
    current = [versions[-1] for versions in state.chronology.values()]
    current.sort(key=lambda v: (v.payload.event_date, v.payload.agency, order[v.payload.entry_id]))
    return [entry_view(state, version, texts) for version in current]


def entry_history(state: ReviewState, entry_id: UUID, texts: Texts) -> list[TimelineEntry]:
    versions = state.chronology.get(entry_id)
    if versions is None:
        raise NotFound(f"no chronology entry {entry_id}")
    return [entry_view(state, version, texts) for version in versions]
