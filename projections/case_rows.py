"""Every read-model row of one case (`cases`, `deadlines`, `reviews`), folded from its stored events at once.

The live projector writes a case's rows piece by piece as its events arrive (the intake columns from
`IncidentReceived`, the decisioning columns and deadlines re-folded from the case's decisioning events,
the review row from its orchestration events). A bulk rebuild folds each case once from all its events
with the same functions, so the rows equal the ones live delivery leaves behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from events.envelope import EventEnvelope
from events.intake import IncidentReceived
from projections.case_decisioning import fold_case
from projections.projector import (
    DECISIONING_COLUMNS,
    DECISIONING_EVENTS,
    INCIDENT_COLUMNS,
    deadline_values,
    decisioning_values,
    incident_row,
)
from projections.reviews import ORCHESTRATION_EVENTS, fold_review, review_args

CASE_COLUMNS = tuple(dict.fromkeys((*INCIDENT_COLUMNS, *DECISIONING_COLUMNS)))
"""The `cases` columns a fold fills (the others keep their defaults, as live delivery leaves them)."""
_NO_DECISIONING = (None, None, None, None, False, None, None, None, 0, "[]", "[]", None)
"""The decisioning columns of a case with no decisioning event: the table's defaults."""
_NO_INCIDENT = (None,) * (len(INCIDENT_COLUMNS) - 2)


@dataclass
class CaseRows:
    """What one case adds to each table (each tuple in that table's column order)."""

    cases: list[tuple[Any, ...]] = field(default_factory=list)
    deadlines: list[tuple[Any, ...]] = field(default_factory=list)
    reviews: list[tuple[Any, ...]] = field(default_factory=list)

    def extend(self, other: CaseRows) -> None:
        self.cases += other.cases
        self.deadlines += other.deadlines
        self.reviews += other.reviews

    def __len__(self) -> int:
        return len(self.cases) + len(self.deadlines) + len(self.reviews)


def fold_case_rows(case_id: UUID, events: Sequence[EventEnvelope]) -> CaseRows:
    """The rows of one case from its events in arrival order (each event id once).

    As live delivery: the case row exists once an intake or decisioning event arrived, its board is that of
    the first such event, the intake columns come from the last `IncidentReceived`, and the review row from
    the orchestration events in record-time order.
    """
    rows = CaseRows()
    incident: IncidentReceived | None = None
    decisioning: list[EventEnvelope] = []
    orchestration: list[EventEnvelope] = []
    lscb: str | None = None
    for event in events:
        if isinstance(event, IncidentReceived):
            incident = event
        elif event.event_type.startswith(DECISIONING_EVENTS):
            decisioning.append(event)
        elif event.event_type.startswith(ORCHESTRATION_EVENTS):
            orchestration.append(event)
            continue
        else:
            continue
        lscb = lscb or event.lscb
    if lscb is not None:
        intake_part = _NO_INCIDENT if incident is None else incident_row(incident)[2:]
        if decisioning:
            state = fold_case(decisioning)
            decisioning_part = decisioning_values(case_id, lscb, state)[2:]
            rows.deadlines = deadline_values(case_id, lscb, state)
        else:
            decisioning_part = _NO_DECISIONING
        rows.cases.append((case_id, lscb, *intake_part, *decisioning_part))
    if orchestration:
        ordered = sorted(enumerate(orchestration), key=lambda pair: (pair[1].recorded_at, pair[0]))
        review = fold_review(event for _, event in ordered)
        if review is not None:
            rows.reviews.append(review_args(review))
    return rows
