"""The integration contract: an incident notification as integrators send it.

Used unchanged by `POST /v1/incidents` and by the Kafka topic `lif.incidents.v1`. Names and values are
those of rules.md section 1; unknown fields are refused everywhere so a typo never passes silently.
Types are strict, as on a JSON wire they should be: integers and booleans are JSON integers and booleans
(never `"4"` or `true` for a number), dates are `YYYY-MM-DD` strings inside the window of `events.fields`,
and text refuses control characters (see `events.fields`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator
from pydantic_core import PydanticCustomError

from events.envelope import LSCB_PATTERN
from events.fields import Count, Date, Line, Text

LONDON = ZoneInfo("Europe/London")

AbuseOrNeglect = Literal["known", "suspected", "not_suspected"]
Outcome = Literal["died", "seriously_harmed", "harmed", "not_harmed"]
WorkingTogetherConcern = Literal["yes", "no", "unclear"]
PlaceOfDeath = Literal[
    "custody",
    "police_custody",
    "remand",
    "young_offender_institution",
    "secure_training_centre",
    "secure_childrens_home",
    "mental_health_detention",
]
NotifyingAgency = Literal[
    "local_authority",
    "police",
    "health",
    "education",
    "probation",
    "youth_offending",
    "cafcass",
    "cdop",
    "other",
]


def cross_field_error(field: str, message: str) -> PydanticCustomError:
    """An error about one field found by comparing it with another; `field` names the bad one."""
    return PydanticCustomError("cross_field", message, {"field": field})


class IncidentFacts(BaseModel):
    """The facts the threshold decision is made from (rules.md section 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    abuse_or_neglect: AbuseOrNeglect
    outcome: Outcome
    working_together_concern: WorkingTogetherConcern = Field(
        description="`no` only where there is definitive evidence of no concern"
    )
    place_of_death: PlaceOfDeath | None = None
    practice_concern_single_agency: StrictBool
    good_practice: StrictBool
    historical: StrictBool
    learning_already_identified: StrictBool = False

    @model_validator(mode="after")
    def _place_of_death_only_for_deaths(self) -> IncidentFacts:
        if self.place_of_death is not None and self.outcome != "died":
            raise cross_field_error("facts.place_of_death", "place_of_death is only allowed when outcome is 'died'")
        return self


class Source(BaseModel):
    """Where the notification came from; the triple (lscb, system, reference) identifies it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: Line = Field(min_length=1, max_length=100)
    reference: Line = Field(min_length=1, max_length=200)


class Child(BaseModel):
    """The child, by pseudonymous reference only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject_ref: Line = Field(min_length=1, max_length=100, description="Pseudonymous subject id")
    age_years: Count = Field(ge=0, le=25)
    normally_resident_lscb: str = Field(pattern=LSCB_PATTERN)


class IncidentNotification(BaseModel):
    """One incident notification (rules.md section 1, "Validation")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lscb: str = Field(pattern=LSCB_PATTERN)
    source: Source
    notifying_agency: NotifyingAgency
    child: Child
    incident_date: Date = Field(description="On or after 1900-01-01 (historical cases), not after notified_date")
    notified_date: Date = Field(description="Not after today (Europe/London)")
    summary: Text = Field(min_length=1, max_length=20000, description="Free text; kept out of the event log")
    facts: IncidentFacts

    @model_validator(mode="after")
    def _notified_after_incident(self) -> IncidentNotification:
        if self.notified_date < self.incident_date:
            raise cross_field_error("notified_date", "notified_date must not be before incident_date")
        today = datetime.now(LONDON).date()
        if self.notified_date > today:
            raise cross_field_error(
                "notified_date", f"notified_date must not be after today ({today.isoformat()}, Europe/London)"
            )
        return self
