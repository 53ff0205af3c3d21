"""Sample incident notifications for tests: valid by default, each test changes what it needs."""

from __future__ import annotations

import copy
import uuid
from datetime import date
from typing import Any, get_args

from events.incidents import IncidentNotification, PlaceOfDeath

BASE: dict[str, Any] = {
    "lscb": "BOL",
    "source": {"system": "bolton-cms", "reference": "REF-0001"},
    "notifying_agency": "local_authority",
    "child": {"subject_ref": "subj-7f3a", "age_years": 4, "normally_resident_lscb": "BOL"},
    "incident_date": "2015-03-02",
    "notified_date": "2015-03-10",
    "summary": "Child admitted with head injury; mother's partner known to police.",
    "facts": {
        "abuse_or_neglect": "suspected",
        "outcome": "seriously_harmed",
        "working_together_concern": "unclear",
        "place_of_death": None,
        "practice_concern_single_agency": False,
        "good_practice": False,
        "historical": False,
    },
}


def notification(**changes: Any) -> dict[str, Any]:
    """A valid notification with a unique source reference; `facts__x=...` changes one fact."""
    doc = copy.deepcopy(BASE)
    doc["source"]["reference"] = f"REF-{uuid.uuid4().hex[:12]}"
    for key, value in changes.items():
        if key.startswith("facts__"):
            doc["facts"][key.removeprefix("facts__")] = value
        elif key.startswith("child__"):
            doc["child"][key.removeprefix("child__")] = value
        else:
            doc[key] = value
    return doc


PLACES_OF_DEATH: list[str] = list(get_args(PlaceOfDeath))

QUIET_FACTS: dict[str, Any] = {
    "abuse_or_neglect": "not_suspected",
    "outcome": "not_harmed",
    "working_together_concern": "no",
    "practice_concern_single_agency": False,
    "good_practice": False,
    "historical": False,
}


def incident(
    *, lscb: str, incident_date: date, notified_date: date, home: str | None = None, **facts: Any
) -> IncidentNotification:
    """A validated notification whose facts default to 'nothing of concern', overridden per test."""
    return IncidentNotification.model_validate(
        {
            "lscb": lscb,
            "source": {"system": "test", "reference": "ref-1"},
            "notifying_agency": "local_authority",
            "child": {"subject_ref": "S-1", "age_years": 7, "normally_resident_lscb": home or lscb},
            "incident_date": incident_date,
            "notified_date": notified_date,
            "summary": "test incident",
            "facts": {**QUIET_FACTS, **facts},
        }
    )
